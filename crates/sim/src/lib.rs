//! SES v2 API simulator.
