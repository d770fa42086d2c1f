//! Admin operations.
