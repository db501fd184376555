//! (analytic: to be written)
