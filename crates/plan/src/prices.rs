//! Unit prices of the AWS services the pipeline uses, and their overrides.

use serde::{Deserialize, Serialize};

use crate::PlanError;

/// Unit prices (USD). Defaults are us-east-1 on-demand list prices; see [`PRICES_SOURCE`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Prices {
    /// Lambda arm64 duration, per GB-second.
    pub lambda_gb_second: f64,
    /// Lambda requests, per million invocations.
    pub lambda_per_million_requests: f64,
    /// SQS standard queue, per million requests (64 KiB chunks).
    pub sqs_per_million_requests: f64,
    /// DynamoDB on-demand, per million write request units.
    pub dynamodb_per_million_wru: f64,
    /// DynamoDB on-demand, per million read request units.
    pub dynamodb_per_million_rru: f64,
    /// Firehose Direct PUT ingestion, per GB (records rounded up to 5 KB).
    pub firehose_per_gb: f64,
    /// Firehose record format conversion (JSON → Parquet), per GB (same 5 KB rounding).
    pub firehose_format_conversion_per_gb: f64,
    /// S3 Standard PUT requests, per thousand.
    pub s3_per_thousand_puts: f64,
    /// S3 Standard storage, per GB-month.
    pub s3_gb_month: f64,
    /// SES outbound email, per thousand.
    pub ses_per_thousand_emails: f64,
    /// API Gateway REST API, per million requests (first tier).
    pub apigw_rest_per_million: f64,
    /// CloudWatch Logs ingestion, per GB.
    pub cloudwatch_logs_per_gb: f64,
}

/// Where the default prices come from. Not verifiable offline: override with `--region-prices`.
pub const PRICES_SOURCE: &str = "us-east-1 on-demand list prices from the AWS pricing pages \
(AWS Lambda Pricing, Amazon SQS Pricing, Amazon DynamoDB Pricing for On-Demand Capacity, \
Amazon Data Firehose Pricing, Amazon S3 Pricing, Amazon SES Pricing, Amazon API Gateway Pricing, \
Amazon CloudWatch Pricing) as last read in 2025; not re-checked (no internet here)";

impl Default for Prices {
    fn default() -> Self {
        Prices {
            lambda_gb_second: 0.000_013_333_4,
            lambda_per_million_requests: 0.20,
            sqs_per_million_requests: 0.40,
            dynamodb_per_million_wru: 0.625,
            dynamodb_per_million_rru: 0.125,
            firehose_per_gb: 0.029,
            firehose_format_conversion_per_gb: 0.018,
            s3_per_thousand_puts: 0.005,
            s3_gb_month: 0.023,
            ses_per_thousand_emails: 0.10,
            apigw_rest_per_million: 3.50,
            cloudwatch_logs_per_gb: 0.50,
        }
    }
}

impl Prices {
    /// Defaults overridden by the keys of a JSON object (unknown keys are an error).
    pub fn from_json_overrides(json: &str) -> Result<Self, PlanError> {
        let prices: Prices =
            serde_json::from_str(json).map_err(|e| PlanError::Prices(e.to_string()))?;
        for (name, value) in prices.named() {
            if !(value.is_finite() && value >= 0.0) {
                return Err(PlanError::Prices(format!(
                    "{name} = {value} must be a finite number ≥ 0"
                )));
            }
        }
        Ok(prices)
    }

    fn named(&self) -> [(&'static str, f64); 12] {
        [
            ("lambda_gb_second", self.lambda_gb_second),
            (
                "lambda_per_million_requests",
                self.lambda_per_million_requests,
            ),
            ("sqs_per_million_requests", self.sqs_per_million_requests),
            ("dynamodb_per_million_wru", self.dynamodb_per_million_wru),
            ("dynamodb_per_million_rru", self.dynamodb_per_million_rru),
            ("firehose_per_gb", self.firehose_per_gb),
            (
                "firehose_format_conversion_per_gb",
                self.firehose_format_conversion_per_gb,
            ),
            ("s3_per_thousand_puts", self.s3_per_thousand_puts),
            ("s3_gb_month", self.s3_gb_month),
            ("ses_per_thousand_emails", self.ses_per_thousand_emails),
            ("apigw_rest_per_million", self.apigw_rest_per_million),
            ("cloudwatch_logs_per_gb", self.cloudwatch_logs_per_gb),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_overrides() {
        let pr = Prices::from_json_overrides(r#"{"ses_per_thousand_emails": 0.12}"#).unwrap();
        assert_eq!(pr.ses_per_thousand_emails, 0.12);
        assert_eq!(pr.lambda_per_million_requests, 0.20);
        let e = Prices::from_json_overrides(r#"{"ses_per_thousand": 0.12}"#).unwrap_err();
        assert!(e.to_string().contains("ses_per_thousand"), "{e}");
        let e = Prices::from_json_overrides(r#"{"s3_gb_month": -1}"#).unwrap_err();
        assert!(e.to_string().contains("s3_gb_month"), "{e}");
    }
}
