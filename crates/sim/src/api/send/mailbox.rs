//! The SES mailbox simulator: what happens to mail sent to `simulator.amazonses.com`.

use crate::api::SIMULATOR_DOMAIN;

/// What happens to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Delivered,
    Bounce,
    OutOfOffice,
    Complaint,
    Suppressed,
}

impl Outcome {
    /// The per-recipient outcome as `/_sim/messages` shows it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Bounce => "bounced",
            Self::OutOfOffice => "out_of_office",
            Self::Complaint => "complained",
            Self::Suppressed => "suppressed",
        }
    }
}

/// What the mailbox simulator does with `addr` (`name+label@` works); other recipients are
/// delivered.
pub(crate) fn simulator_outcome(addr: &str) -> Outcome {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Outcome::Delivered;
    };
    if !domain.eq_ignore_ascii_case(SIMULATOR_DOMAIN) {
        return Outcome::Delivered;
    }
    let base = local.split('+').next().unwrap_or("").to_ascii_lowercase();
    match base.as_str() {
        "bounce" => Outcome::Bounce,
        "ooto" => Outcome::OutOfOffice,
        "complaint" => Outcome::Complaint,
        "suppressionlist" => Outcome::Suppressed,
        _ => Outcome::Delivered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulator_addresses() {
        assert_eq!(
            simulator_outcome("bounce+x1@simulator.amazonses.com"),
            Outcome::Bounce
        );
        assert_eq!(
            simulator_outcome("Complaint@SIMULATOR.amazonses.com"),
            Outcome::Complaint
        );
        assert_eq!(simulator_outcome("bounce@example.com"), Outcome::Delivered);
    }
}
