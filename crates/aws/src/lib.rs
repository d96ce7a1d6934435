//! AWS adapters for the sesload ports.
