//! The simulator (placeholder).
