//! (crosscheck: to be written)
