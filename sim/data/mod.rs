//! (data: to be written)
