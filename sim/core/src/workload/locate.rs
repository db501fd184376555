//! Where a trace's problems are: the document and the layer names, for
//! the location and scope of every error.

use crate::input::InputError;
use crate::tomldoc::{Location, SpannedDoc};

/// Locates errors: the document plus the layer names (for scopes).
pub(super) struct Ctx<'a> {
    pub doc: &'a SpannedDoc,
    pub names: Vec<String>,
}

impl Ctx<'_> {
    /// `layer `conv1``, or `layer #3` when the layer has no usable name.
    pub fn scope(&self, i: usize) -> String {
        match self.names.get(i) {
            Some(n) if !n.is_empty() => format!("layer `{n}`"),
            _ => format!("layer #{}", i + 1),
        }
    }

    /// Location of `key` in layer `i`, or of the layer table.
    pub fn loc(&self, i: usize, key: &str) -> Location {
        self.doc.loc_of(&["layer", &i.to_string(), key])
    }

    /// An `Invalid` error for `key` of layer `i`.
    pub fn invalid(&self, i: usize, key: &str, message: String) -> InputError {
        InputError::Invalid {
            loc: self.loc(i, key),
            scope: self.scope(i),
            key: key.to_string(),
            message,
        }
    }

    /// A `Missing` error for `key` of layer `i`.
    pub fn missing(&self, i: usize, key: &str) -> InputError {
        InputError::Missing {
            loc: self.loc(i, key),
            scope: self.scope(i),
            key: key.to_string(),
        }
    }
}
