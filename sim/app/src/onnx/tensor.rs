//! Constant tensors (initializers, Constant and ConstantOfShape outputs):
//! their dimensions, their weight density and, for shape inputs, their
//! integer values.
//!
//! Weight tensors can hold tens of millions of values, so a constant keeps a
//! reference to its TensorProto and values are decoded on demand, never copied.

use super::error::OnnxErrorKind;
use super::proto::tensor_proto::{DataLocation, DataType};
use super::proto::TensorProto;

/// Where a constant's values come from.
#[derive(Debug, Clone)]
pub(crate) enum ConstData<'a> {
    /// A tensor in the model file.
    Tensor(&'a TensorProto),
    /// Every element has this value (ConstantOfShape, scalar Constant attributes).
    Splat(f64),
    /// Explicit integers (Constant `value_ints`).
    Ints(Vec<i64>),
    /// Explicit floats (Constant `value_floats`).
    Floats(Vec<f32>),
}

/// A tensor whose value is known at import time.
#[derive(Debug, Clone)]
pub(crate) struct Constant<'a> {
    /// Its name, for error messages.
    pub name: String,
    /// Dimensions (all non-negative).
    pub dims: Vec<i64>,
    /// Its values.
    pub data: ConstData<'a>,
}

impl<'a> Constant<'a> {
    /// A constant backed by a tensor of the model; rejects negative dimensions.
    pub fn from_tensor(name: &str, t: &'a TensorProto) -> Result<Self, OnnxErrorKind> {
        let fits = t.dims.iter().try_fold(1u64, |acc, &d| {
            u64::try_from(d).ok().and_then(|d| acc.checked_mul(d))
        });
        if fits.is_none() {
            return Err(tensor_err(name, format!("invalid dimensions {:?}", t.dims)));
        }
        Ok(Constant {
            name: name.to_string(),
            dims: t.dims.clone(),
            data: ConstData::Tensor(t),
        })
    }

    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.dims
            .iter()
            .fold(1u64, |acc, &d| acc.saturating_mul(d.max(0) as u64))
    }

    /// Fraction of non-zero values; 1.0 when the tensor carries no values
    /// (stripped weights) or is empty. External data must have been read
    /// into the tensor first (it is an error otherwise).
    pub fn density(&self) -> Result<f64, OnnxErrorKind> {
        let n = self.elements();
        if n == 0 {
            return Ok(1.0);
        }
        let nonzero = match &self.data {
            ConstData::Tensor(t) => {
                let mut nonzero = 0u64;
                let present = visit(&self.name, t, n, &mut |v| nonzero += u64::from(v != 0.0))?;
                if !present {
                    return Ok(1.0);
                }
                nonzero
            }
            ConstData::Splat(v) => {
                if *v == 0.0 {
                    0
                } else {
                    n
                }
            }
            ConstData::Ints(v) => v.iter().filter(|&&x| x != 0).count() as u64,
            ConstData::Floats(v) => v.iter().filter(|&&x| x != 0.0).count() as u64,
        };
        Ok(nonzero as f64 / n as f64)
    }

    /// The values as `f32`; `None` when the file does not hold them
    /// (external data, stripped weights).
    pub fn values(&self) -> Result<Option<Vec<f32>>, OnnxErrorKind> {
        let n = self.elements() as usize;
        match &self.data {
            ConstData::Tensor(t) => {
                if matches!(
                    data_type(&self.name, t)?,
                    DataType::Float16 | DataType::Bfloat16
                ) {
                    return Err(tensor_err(
                        &self.name,
                        "16-bit float weights cannot be executed; export float32",
                    ));
                }
                let mut out = Vec::with_capacity(n);
                let present = visit(&self.name, t, n as u64, &mut |v| out.push(v as f32))?;
                Ok((present || n == 0).then_some(out))
            }
            ConstData::Splat(v) => Ok(Some(vec![*v as f32; n])),
            ConstData::Ints(v) => Ok(Some(v.iter().map(|&x| x as f32).collect())),
            ConstData::Floats(v) => Ok(Some(v.clone())),
        }
    }

    /// The values as integers (for Reshape and ConstantOfShape shape inputs).
    pub fn ints(&self) -> Result<Vec<i64>, OnnxErrorKind> {
        let n = self.elements() as usize;
        match &self.data {
            ConstData::Tensor(t) => tensor_ints(&self.name, t, n),
            // Integer constants are shapes; a huge one is certainly not.
            ConstData::Splat(_) if n > 1 << 16 => Err(tensor_err(
                &self.name,
                format!("{n} elements are too many for a shape"),
            )),
            ConstData::Splat(v) => Ok(vec![*v as i64; n]),
            ConstData::Ints(v) => Ok(v.clone()),
            ConstData::Floats(_) => Err(tensor_err(&self.name, "expected integers, found floats")),
        }
    }
}

fn tensor_err(name: &str, reason: impl Into<String>) -> OnnxErrorKind {
    OnnxErrorKind::Tensor {
        name: name.to_string(),
        reason: reason.into(),
    }
}

fn data_type(name: &str, t: &TensorProto) -> Result<DataType, OnnxErrorKind> {
    DataType::try_from(t.data_type)
        .map_err(|_| tensor_err(name, format!("unknown data type {}", t.data_type)))
}

/// Bytes per element in `raw_data`, for the types whose values we can read.
fn raw_size(ty: DataType) -> Option<usize> {
    use DataType::*;
    match ty {
        Uint8 | Int8 | Bool => Some(1),
        Uint16 | Int16 | Float16 | Bfloat16 => Some(2),
        Float | Int32 | Uint32 => Some(4),
        Int64 | Uint64 | Double => Some(8),
        Undefined | String | Complex64 | Complex128 => None,
    }
}

/// Calls `f` with every value of `t` (which has `n` elements), converted to
/// f64 such that zero stays zero: half-precision values are passed as their
/// magnitude bits, which is all the density needs. Returns false when the
/// tensor carries no values at all.
fn visit(
    name: &str,
    t: &TensorProto,
    n: u64,
    f: &mut dyn FnMut(f64),
) -> Result<bool, OnnxErrorKind> {
    let ty = data_type(name, t)?;
    let size = raw_size(ty).ok_or_else(|| {
        tensor_err(
            name,
            format!("cannot read values of type {}", ty.as_str_name()),
        )
    })?;
    if t.data_location() == DataLocation::External {
        return Err(tensor_err(
            name,
            "its values are in an external data file, which is only read when the model is \
             imported from its file (eyesim import FILE.onnx)",
        ));
    }
    if !t.raw_data.is_empty() {
        let expected = n.checked_mul(size as u64);
        if expected != Some(t.raw_data.len() as u64) {
            return Err(tensor_err(
                name,
                format!(
                    "raw_data has {} bytes, but {} elements of {} need {}",
                    t.raw_data.len(),
                    n,
                    ty.as_str_name(),
                    n.saturating_mul(size as u64)
                ),
            ));
        }
        for chunk in t.raw_data.chunks_exact(size) {
            f(raw_value(ty, chunk));
        }
        return Ok(true);
    }
    use DataType::*;
    let found = match ty {
        Float => visit_typed(&t.float_data, |&v| f64::from(v), f),
        Double => visit_typed(&t.double_data, |&v| v, f),
        Int64 => visit_typed(&t.int64_data, |&v| v as f64, f),
        Uint32 | Uint64 => visit_typed(&t.uint64_data, |&v| v as f64, f),
        Float16 | Bfloat16 => visit_typed(&t.int32_data, |&v| f64::from(v & 0x7fff), f),
        _ => visit_typed(&t.int32_data, |&v| f64::from(v), f),
    };
    match found as u64 {
        0 => Ok(false),
        m if m == n => Ok(true),
        m => Err(tensor_err(
            name,
            format!(
                "has {m} values in its typed data field but {n} elements ({:?})",
                t.dims
            ),
        )),
    }
}

fn visit_typed<T>(data: &[T], conv: impl Fn(&T) -> f64, f: &mut dyn FnMut(f64)) -> usize {
    data.iter().for_each(|v| f(conv(v)));
    data.len()
}

/// One little-endian element of `raw_data`.
fn raw_value(ty: DataType, b: &[u8]) -> f64 {
    use DataType::*;
    match ty {
        Float => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        Double => f64::from_le_bytes(b.try_into().unwrap_or_default()),
        Float16 | Bfloat16 => f64::from(u16::from_le_bytes([b[0], b[1]]) & 0x7fff),
        Int8 => f64::from(b[0] as i8),
        Int16 => f64::from(i16::from_le_bytes([b[0], b[1]])),
        Int32 => f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        Int64 => i64::from_le_bytes(b.try_into().unwrap_or_default()) as f64,
        // Unsigned types and bool: only zero versus non-zero matters here.
        _ => f64::from(u8::from(b.iter().any(|&x| x != 0))),
    }
}

fn tensor_ints(name: &str, t: &TensorProto, n: usize) -> Result<Vec<i64>, OnnxErrorKind> {
    let ty = data_type(name, t)?;
    let v: Vec<i64> = match ty {
        DataType::Int64 if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect(),
        DataType::Int32 if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(4)
            .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        DataType::Int64 => t.int64_data.clone(),
        DataType::Int32 => t.int32_data.iter().map(|&x| i64::from(x)).collect(),
        other => {
            return Err(tensor_err(
                name,
                format!(
                    "expected INT64 or INT32 values, found {}",
                    other.as_str_name()
                ),
            ))
        }
    };
    if v.len() != n {
        return Err(tensor_err(
            name,
            format!("has {} values but {} elements ({:?})", v.len(), n, t.dims),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float_tensor(values: &[f32], raw: bool) -> TensorProto {
        let mut t = TensorProto {
            dims: vec![values.len() as i64],
            data_type: DataType::Float as i32,
            ..Default::default()
        };
        if raw {
            t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        } else {
            t.float_data = values.to_vec();
        }
        t
    }

    #[test]
    fn density_from_float_data_and_raw_data_agree() {
        let values = [0.0, 1.5, -0.0, -2.0, 0.0, 3.0, 0.0, 0.0];
        for raw in [false, true] {
            let t = float_tensor(&values, raw);
            let c = Constant::from_tensor("w", &t).unwrap();
            assert_eq!(c.density().unwrap(), 3.0 / 8.0, "raw = {raw}");
        }
    }

    #[test]
    fn tensor_without_values_is_dense() {
        let t = TensorProto {
            dims: vec![4, 4],
            data_type: DataType::Float as i32,
            ..Default::default()
        };
        assert_eq!(
            Constant::from_tensor("w", &t).unwrap().density().unwrap(),
            1.0
        );
    }

    #[test]
    fn int8_raw_density_and_short_raw_data() {
        let mut t = TensorProto {
            dims: vec![4],
            data_type: DataType::Int8 as i32,
            raw_data: vec![0, 0xff, 0, 7],
            ..Default::default()
        };
        assert_eq!(
            Constant::from_tensor("q", &t).unwrap().density().unwrap(),
            0.5
        );
        t.raw_data.pop();
        let err = Constant::from_tensor("q", &t)
            .unwrap()
            .density()
            .unwrap_err();
        assert!(err.to_string().contains("raw_data has 3 bytes"), "{err}");
    }

    #[test]
    fn int64_shape_values_from_raw_data() {
        let t = TensorProto {
            dims: vec![2],
            data_type: DataType::Int64 as i32,
            raw_data: [-1i64, 9216].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        };
        assert_eq!(
            Constant::from_tensor("s", &t).unwrap().ints().unwrap(),
            vec![-1, 9216]
        );
    }
}
