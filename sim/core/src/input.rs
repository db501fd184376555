//! The one error type of every input eyesim parses: traces and hardware
//! configs. Each problem with a value carries the [`Location`] of the
//! offending key (file, line, column) or of the override that set it.

use crate::tomldoc::Location;

/// Which kind of input a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A network trace (`traces/*.toml`).
    Trace,
    /// A hardware config (`hwconfigs/*.toml`).
    HwConfig,
}

impl InputKind {
    /// The file, as messages name it.
    pub fn file(self) -> &'static str {
        match self {
            InputKind::Trace => "trace",
            InputKind::HwConfig => "hardware config",
        }
    }

    /// What a name given for this input names.
    pub fn thing(self) -> &'static str {
        match self {
            InputKind::Trace => "network",
            InputKind::HwConfig => "hardware config",
        }
    }
}

/// `scope: `, or nothing for an input without scopes (hardware configs).
fn scoped(scope: &str) -> String {
    if scope.is_empty() {
        String::new()
    } else {
        format!("{scope}: ")
    }
}

/// Why a trace or a hardware config was rejected. Variants about a value
/// name the file, line and column (or the override), the scope (`[network]`
/// or the layer, in traces) and the key.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("cannot read {} `{path}`: {source}", .kind.file())]
    Io {
        /// A trace or a hardware config.
        kind: InputKind,
        /// The path given.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Neither a built-in name nor an existing file.
    #[error("no {} `{name}`: not a file, and not a built-in ({builtins})", .kind.thing())]
    NotFound {
        /// A trace or a hardware config.
        kind: InputKind,
        /// The name given.
        name: String,
        /// Built-in names, comma-separated.
        builtins: String,
    },
    /// An ONNX model given where a trace belongs.
    #[error("`{path}` is an ONNX model, not a trace: convert it first with `eyesim import {path} -o traces/{stem}.toml`, then pass the trace (--net traces/{stem}.toml)")]
    OnnxModel {
        /// The path given.
        path: String,
        /// Its file stem.
        stem: String,
    },
    /// An ONNX model given where a hardware config belongs.
    #[error("`{path}` is an ONNX model, not a hardware config: --hw takes a built-in name ({builtins}) or a hwconfig TOML file; to use the model as a network, convert it with `eyesim import {path}` and pass the trace to --net")]
    OnnxForHardware {
        /// The path given.
        path: String,
        /// Built-in hardware config names, comma-separated.
        builtins: String,
    },
    /// The text is not valid TOML.
    #[error("{loc}: TOML syntax error: {message}")]
    Syntax {
        /// Where.
        loc: Location,
        /// What the parser says.
        message: String,
    },
    /// A key the format does not know.
    #[error("{loc}: {}unknown key `{key}`{hint}", scoped(.scope))]
    UnknownKey {
        /// Where.
        loc: Location,
        /// `[network]`, `layer `name``, the top level, or empty (hardware configs).
        scope: String,
        /// The key (dotted in hardware configs).
        key: String,
        /// `; did you mean ...?`, or empty.
        hint: String,
    },
    /// A value of the wrong TOML type.
    #[error("{loc}: {}`{key}` has the wrong type: {message}", scoped(.scope))]
    WrongType {
        /// Where.
        loc: Location,
        /// `[network]`, the layer, or empty (hardware configs).
        scope: String,
        /// The key.
        key: String,
        /// Found vs expected.
        message: String,
    },
    /// A required key is absent.
    #[error("{loc}: {}missing required key `{key}`", scoped(.scope))]
    Missing {
        /// The enclosing table, or the file.
        loc: Location,
        /// `[network]`, the layer, or empty (hardware configs).
        scope: String,
        /// The key.
        key: String,
    },
    /// A trace value outside its range, or one that contradicts another.
    #[error("{loc}: {scope}: `{key}` {message}")]
    Invalid {
        /// Where.
        loc: Location,
        /// `[network]` or the layer.
        scope: String,
        /// The key.
        key: String,
        /// The value and the violated limit.
        message: String,
    },
    /// A hardware value outside its legal range (`hw::RANGES`).
    #[error("{loc}: `{key}` = {value} is out of range: {limit}")]
    OutOfRange {
        /// Where.
        loc: Location,
        /// The dotted key.
        key: String,
        /// The value as given.
        value: String,
        /// The violated limit.
        limit: String,
    },
    /// Hardware values that contradict each other.
    #[error("{loc}: `{key}` is inconsistent: {message}")]
    Inconsistent {
        /// Where.
        loc: Location,
        /// The dotted key.
        key: String,
        /// The violated relation, with the numbers.
        message: String,
    },
    /// An `inputs` entry that names no layer.
    #[error("{loc}: layer `{layer}`: unknown input layer `{input}`{hint}")]
    UnknownInput {
        /// Where.
        loc: Location,
        /// The consuming layer.
        layer: String,
        /// The name that was not found.
        input: String,
        /// `; did you mean ...?`, or empty.
        hint: String,
    },
    /// The layers do not form a DAG.
    #[error("{loc}: the layer graph has a cycle through {layers}")]
    Cycle {
        /// The first layer of the cycle in the file.
        loc: Location,
        /// The layers on the cycle, in file order.
        layers: String,
    },
    /// Input shapes that cannot be combined.
    #[error("{loc}: layer `{layer}`: {message}")]
    ShapeMismatch {
        /// Where.
        loc: Location,
        /// The combining layer.
        layer: String,
        /// The inputs and their shapes.
        message: String,
    },
    /// Two layers with one name.
    #[error("{loc}: layer name `{layer}` is already used by an earlier layer")]
    Duplicate {
        /// The second use.
        loc: Location,
        /// The name.
        layer: String,
    },
    /// A sweep override of a key that is not numeric or does not exist.
    #[error("cannot override `{key}`: not a numeric hardware key{hint}; valid keys: {valid}")]
    UnknownOverride {
        /// The key given.
        key: String,
        /// `; did you mean ...?`, or empty.
        hint: String,
        /// Every numeric key, comma-separated.
        valid: String,
    },
    /// More than one problem in one input, in file order.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<InputError>),
}

impl InputError {
    /// Where the problem is, when it concerns one place of the input.
    pub fn location(&self) -> Option<&Location> {
        match self {
            InputError::Syntax { loc, .. }
            | InputError::UnknownKey { loc, .. }
            | InputError::WrongType { loc, .. }
            | InputError::Missing { loc, .. }
            | InputError::Invalid { loc, .. }
            | InputError::OutOfRange { loc, .. }
            | InputError::Inconsistent { loc, .. }
            | InputError::UnknownInput { loc, .. }
            | InputError::Cycle { loc, .. }
            | InputError::ShapeMismatch { loc, .. }
            | InputError::Duplicate { loc, .. } => Some(loc),
            _ => None,
        }
    }

    /// One error as itself, several (sorted into file order, errors without
    /// a position last) as [`InputError::Several`].
    pub fn one_or_several(mut errors: Vec<InputError>) -> InputError {
        errors.sort_by_key(|e| {
            e.location()
                .and_then(|l| l.line_col)
                .unwrap_or((u32::MAX, 0))
        });
        if errors.len() == 1 {
            errors.pop().expect("one error")
        } else {
            InputError::Several(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_prefix_only_when_present() {
        let loc = Location::whole("t.toml");
        let key = |scope: &str| InputError::UnknownKey {
            loc: loc.clone(),
            scope: scope.into(),
            key: "x".into(),
            hint: String::new(),
        };
        assert_eq!(key("").to_string(), "t.toml: unknown key `x`");
        assert_eq!(
            key("[network]").to_string(),
            "t.toml: [network]: unknown key `x`"
        );
    }

    #[test]
    fn several_are_sorted_into_file_order() {
        let at = |line| InputError::Missing {
            loc: Location {
                origin: "f".into(),
                line_col: Some((line, 1)),
            },
            scope: String::new(),
            key: format!("k{line}"),
        };
        let override_error = InputError::UnknownOverride {
            key: "x".into(),
            hint: String::new(),
            valid: String::new(),
        };
        let InputError::Several(v) = InputError::one_or_several(vec![override_error, at(9), at(2)])
        else {
            panic!("three errors are several")
        };
        let lines: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "f:2:1: missing required key `k2`");
        assert_eq!(lines[1], "f:9:1: missing required key `k9`");
        assert!(
            lines[2].starts_with("cannot override `x`"),
            "no position: last"
        );
    }
}
