//! (sweep: to be written)
