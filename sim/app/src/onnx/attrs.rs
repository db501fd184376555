//! A node being converted: its label for error messages and typed access to
//! its attributes.

use super::error::OnnxErrorKind;
use super::proto::attribute_proto::AttributeType;
use super::proto::{AttributeProto, NodeProto, TensorProto};

/// One node plus the label that names it in errors.
pub(crate) struct NodeCtx<'a> {
    pub node: &'a NodeProto,
    /// `'name'` when the node is named, else `#index`.
    pub label: String,
    /// The model's version of the default operator set.
    pub opset: i64,
}

impl<'a> NodeCtx<'a> {
    pub fn new(index: usize, node: &'a NodeProto, opset: i64) -> Self {
        let label = if node.name.is_empty() {
            format!("#{index}")
        } else {
            format!("'{}'", node.name)
        };
        NodeCtx { node, label, opset }
    }

    pub fn op(&self) -> &'a str {
        &self.node.op_type
    }

    pub fn bad_attr(&self, attr: &str, reason: impl Into<String>) -> OnnxErrorKind {
        OnnxErrorKind::BadAttribute {
            node: self.label.clone(),
            op: self.op().to_string(),
            attr: attr.to_string(),
            reason: reason.into(),
        }
    }

    pub fn shape_err(&self, reason: impl Into<String>) -> OnnxErrorKind {
        OnnxErrorKind::Shape {
            node: self.label.clone(),
            op: self.op().to_string(),
            reason: reason.into(),
        }
    }

    pub fn missing(&self, value: &str) -> OnnxErrorKind {
        OnnxErrorKind::MissingValue {
            node: self.label.clone(),
            op: self.op().to_string(),
            value: value.to_string(),
        }
    }

    /// The attribute `name`, checked to be of type `ty`. Files from IR
    /// version 1 leave the type unset; those are taken at their word.
    fn find(
        &self,
        name: &str,
        ty: AttributeType,
    ) -> Result<Option<&'a AttributeProto>, OnnxErrorKind> {
        let Some(a) = self.node.attribute.iter().find(|a| a.name == name) else {
            return Ok(None);
        };
        let actual = a.r#type();
        if actual != AttributeType::Undefined && actual != ty {
            return Err(self.bad_attr(
                name,
                format!(
                    "expected type {}, found {}",
                    ty.as_str_name(),
                    actual.as_str_name()
                ),
            ));
        }
        Ok(Some(a))
    }

    /// An INT attribute, or `default` when absent.
    pub fn int(&self, name: &str, default: i64) -> Result<i64, OnnxErrorKind> {
        Ok(self
            .find(name, AttributeType::Int)?
            .map_or(default, |a| a.i))
    }

    /// A required INT attribute.
    pub fn required_int(&self, name: &str) -> Result<i64, OnnxErrorKind> {
        self.find(name, AttributeType::Int)?
            .map(|a| a.i)
            .ok_or_else(|| self.bad_attr(name, "required but missing"))
    }

    /// An INTS attribute, if present.
    pub fn ints(&self, name: &str) -> Result<Option<&'a [i64]>, OnnxErrorKind> {
        Ok(self
            .find(name, AttributeType::Ints)?
            .map(|a| a.ints.as_slice()))
    }

    /// A FLOAT attribute, if present.
    pub fn float(&self, name: &str) -> Result<Option<f32>, OnnxErrorKind> {
        Ok(self.find(name, AttributeType::Float)?.map(|a| a.f))
    }

    /// A FLOATS attribute, if present.
    pub fn floats(&self, name: &str) -> Result<Option<&'a [f32]>, OnnxErrorKind> {
        Ok(self
            .find(name, AttributeType::Floats)?
            .map(|a| a.floats.as_slice()))
    }

    /// A STRING attribute (UTF-8), if present.
    pub fn string(&self, name: &str) -> Result<Option<String>, OnnxErrorKind> {
        match self.find(name, AttributeType::String)? {
            None => Ok(None),
            Some(a) => String::from_utf8(a.s.clone())
                .map(Some)
                .map_err(|_| self.bad_attr(name, "not valid UTF-8")),
        }
    }

    /// A TENSOR attribute, if present.
    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, OnnxErrorKind> {
        match self.find(name, AttributeType::Tensor)? {
            None => Ok(None),
            Some(a) => {
                a.t.as_ref()
                    .map(Some)
                    .ok_or_else(|| self.bad_attr(name, "has no tensor value"))
            }
        }
    }

    /// A spatial INTS attribute of exactly two non-negative (or, with
    /// `positive`, positive) entries, or `default` when absent.
    pub fn pair(
        &self,
        name: &str,
        default: [u32; 2],
        positive: bool,
    ) -> Result<[u32; 2], OnnxErrorKind> {
        match self.ints(name)? {
            None => Ok(default),
            Some(v) => {
                let v = self.small_values(name, v, 2, positive)?;
                Ok([v[0], v[1]])
            }
        }
    }

    /// Checks an INTS attribute's length and range and converts it to u32.
    pub fn small_values(
        &self,
        name: &str,
        v: &[i64],
        len: usize,
        positive: bool,
    ) -> Result<Vec<u32>, OnnxErrorKind> {
        if v.len() != len {
            return Err(self.bad_attr(
                name,
                format!("expected {len} values for a 2-D operation, found {v:?}"),
            ));
        }
        let min = i64::from(positive);
        v.iter()
            .map(|&x| {
                if x < min || x > i64::from(u32::MAX) {
                    let want = if positive { "positive" } else { "non-negative" };
                    Err(self.bad_attr(name, format!("values must be {want}, found {v:?}")))
                } else {
                    Ok(x as u32)
                }
            })
            .collect()
    }
}
