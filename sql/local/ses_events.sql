-- Local definition of ses_events: the same columns as sql/ddl/ses_events.sql (Athena/Glue), over the
-- local event lake that `sesload sim` writes: <lake>/ses_events/dt=YYYY-MM-DD/hour=HH/*.json, one SES
-- event record (camelCase, exactly as SES publishes it) per line.
--
-- The runner sets the DuckDB variable `lake` (SET VARIABLE lake = '<data-dir>/lake') first.
-- The JSON keys are camelCase and DuckDB's JSON reader matches keys case-sensitively, so the file is
-- read with the SES names and every struct is then CAST to the lower-case Glue names (DuckDB casts
-- structs by field name, case-insensitively). mail.tags is MAP(VARCHAR, VARCHAR[]) as in Glue, and
-- dt/hour are VARCHAR partitions as in Athena (hive_types; hour keeps its leading zero).
CREATE OR REPLACE VIEW ses_events AS
SELECT
    CAST(r.eventtype AS VARCHAR) AS eventtype,
    CAST(r.mail AS STRUCT(
        "timestamp" VARCHAR,
        messageid VARCHAR,
        source VARCHAR,
        sourcearn VARCHAR,
        sendingaccountid VARCHAR,
        destination VARCHAR[],
        headerstruncated BOOLEAN,
        headers STRUCT(name VARCHAR, value VARCHAR)[],
        commonheaders STRUCT("from" VARCHAR[], "to" VARCHAR[], messageid VARCHAR, subject VARCHAR),
        tags MAP (VARCHAR, VARCHAR[])
    )) AS mail,
    CAST(r.send AS VARCHAR) AS send,
    CAST(r.delivery AS STRUCT(
        "timestamp" VARCHAR,
        processingtimemillis BIGINT,
        recipients VARCHAR[],
        smtpresponse VARCHAR,
        reportingmta VARCHAR
    )) AS delivery,
    CAST(r.bounce AS STRUCT(
        bouncetype VARCHAR,
        bouncesubtype VARCHAR,
        bouncedrecipients STRUCT(emailaddress VARCHAR, action VARCHAR, status VARCHAR, diagnosticcode VARCHAR)[],
        "timestamp" VARCHAR,
        feedbackid VARCHAR,
        reportingmta VARCHAR
    )) AS bounce,
    CAST(r.complaint AS STRUCT(
        complainedrecipients STRUCT(emailaddress VARCHAR)[],
        "timestamp" VARCHAR,
        feedbackid VARCHAR,
        complaintfeedbacktype VARCHAR,
        useragent VARCHAR,
        arrivaldate VARCHAR
    )) AS complaint,
    CAST(r.reject AS STRUCT(reason VARCHAR)) AS reject,
    CAST(r.failure AS STRUCT(errormessage VARCHAR, templatename VARCHAR)) AS failure,
    CAST(r.deliverydelay AS STRUCT(
        "timestamp" VARCHAR,
        delaytype VARCHAR,
        expirationtime VARCHAR,
        reportingmta VARCHAR,
        delayedrecipients STRUCT(emailaddress VARCHAR, status VARCHAR, diagnosticcode VARCHAR)[]
    )) AS deliverydelay,
    CAST(r.open AS STRUCT("timestamp" VARCHAR, useragent VARCHAR, ipaddress VARCHAR)) AS open,
    CAST(r.click AS STRUCT(
        "timestamp" VARCHAR,
        useragent VARCHAR,
        ipaddress VARCHAR,
        link VARCHAR,
        linktags MAP (VARCHAR, VARCHAR[])
    )) AS click,
    r.dt,
    r.hour
FROM READ_JSON(
    GETVARIABLE('lake') || '/ses_events/dt=*/hour=*/*.json',
    format = 'newline_delimited',
    hive_partitioning = TRUE,
    hive_types = { 'dt': 'VARCHAR', 'hour': 'VARCHAR' },
    columns = {
        'eventType': 'VARCHAR',
        'mail': 'STRUCT(
            "timestamp" VARCHAR, messageId VARCHAR, source VARCHAR, sourceArn VARCHAR,
            sendingAccountId VARCHAR, destination VARCHAR[], headersTruncated BOOLEAN,
            headers STRUCT(name VARCHAR, value VARCHAR)[],
            commonHeaders STRUCT("from" VARCHAR[], "to" VARCHAR[], messageId VARCHAR, subject VARCHAR),
            tags MAP(VARCHAR, VARCHAR[]))',
        'send': 'JSON',
        'delivery': 'STRUCT(
            "timestamp" VARCHAR, processingTimeMillis BIGINT, recipients VARCHAR[],
            smtpResponse VARCHAR, reportingMTA VARCHAR)',
        'bounce': 'STRUCT(
            bounceType VARCHAR, bounceSubType VARCHAR,
            bouncedRecipients STRUCT(emailAddress VARCHAR, action VARCHAR, status VARCHAR, diagnosticCode VARCHAR)[],
            "timestamp" VARCHAR, feedbackId VARCHAR, reportingMTA VARCHAR)',
        'complaint': 'STRUCT(
            complainedRecipients STRUCT(emailAddress VARCHAR)[], "timestamp" VARCHAR, feedbackId VARCHAR,
            complaintFeedbackType VARCHAR, userAgent VARCHAR, arrivalDate VARCHAR)',
        'reject': 'STRUCT(reason VARCHAR)',
        'failure': 'STRUCT(errorMessage VARCHAR, templateName VARCHAR)',
        'deliveryDelay': 'STRUCT(
            "timestamp" VARCHAR, delayType VARCHAR, expirationTime VARCHAR, reportingMTA VARCHAR,
            delayedRecipients STRUCT(emailAddress VARCHAR, status VARCHAR, diagnosticCode VARCHAR)[])',
        'open': 'STRUCT("timestamp" VARCHAR, userAgent VARCHAR, ipAddress VARCHAR)',
        'click': 'STRUCT(
            "timestamp" VARCHAR, userAgent VARCHAR, ipAddress VARCHAR, link VARCHAR,
            linkTags MAP(VARCHAR, VARCHAR[]))'
    }
) AS r;
