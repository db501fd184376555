//! Real layer data from NumPy `.npy` files (format versions 1.0–3.0).
//!
//! Only what layer data needs is supported: int16 (`<i2` or `>i2`) C-order
//! arrays. The header is a Python dict literal such as
//! `{'descr': '<i2', 'fortran_order': False, 'shape': (4, 96, 27, 27), }`;
//! it is parsed by looking up the three keys, which every writer emits.

use crate::workload::{ConvProblem, Op};
use eyesim_core::data::{DataError, LayerData, LayerDataSource};
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"\x93NUMPY";

/// An int16 array read from a `.npy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyArray {
    /// Dimensions, outermost first.
    pub shape: Vec<u64>,
    /// Values in C order.
    pub values: Vec<i16>,
}

/// A folder of `<layer>.{ifmap,weights,bias}.npy` files as the simulator's
/// data source ([`load_npy`] per layer).
#[derive(Debug, Clone)]
pub struct NpyDir(pub PathBuf);

impl LayerDataSource for NpyDir {
    fn layer_data(&self, layer: &str, prob: &ConvProblem) -> Result<LayerData, DataError> {
        load_npy(&self.0, layer, prob)
    }
}

/// Loads one layer's data from `<dir>/<layer>.ifmap.npy`,
/// `<dir>/<layer>.weights.npy` (not read for pooling) and the optional
/// `<dir>/<layer>.bias.npy` (zeros when absent).
///
/// Expected shapes: ifmap `[n, g·c, h, w]`; weights `[g·m, c, r, s]` (a fully
/// connected layer also accepts `[m, c·r·s]`); bias `[g·m]`.
pub fn load_npy(dir: &Path, layer: &str, prob: &ConvProblem) -> Result<LayerData, DataError> {
    let file = |kind: &str| dir.join(format!("{layer}.{kind}.npy"));
    let shape_err = |path: PathBuf, expected: String, found: Vec<u64>| DataError::Shape {
        path,
        layer: layer.to_string(),
        expected,
        found,
    };
    let u = u64::from;

    let path = file("ifmap");
    let ifmap = read_npy_i16(&path)?;
    let want = vec![u(prob.n), u(prob.g * prob.c), u(prob.h), u(prob.w)];
    if ifmap.shape != want {
        return Err(shape_err(path, format!("{want:?}"), ifmap.shape));
    }

    let weights = if prob.op == Op::Mac {
        let path = file("weights");
        let arr = read_npy_i16(&path)?;
        let full = vec![u(prob.g * prob.m), u(prob.c), u(prob.r), u(prob.s)];
        let flat = vec![u(prob.m), u(prob.c) * u(prob.r) * u(prob.s)];
        let is_fc =
            prob.g == 1 && prob.e == 1 && prob.f == 1 && prob.r == prob.h && prob.s == prob.w;
        if arr.shape != full && !(is_fc && arr.shape == flat) {
            let expected = if is_fc {
                format!("{full:?} or {flat:?}")
            } else {
                format!("{full:?}")
            };
            return Err(shape_err(path, expected, arr.shape));
        }
        arr.values
    } else {
        Vec::new()
    };

    let filters = (prob.g * prob.m) as usize;
    let path = file("bias");
    let bias = if path.exists() {
        let arr = read_npy_i16(&path)?;
        if arr.shape != [filters as u64] {
            return Err(shape_err(path, format!("[{filters}]"), arr.shape));
        }
        arr.values
    } else {
        vec![0; filters]
    };
    Ok(LayerData {
        ifmap: ifmap.values,
        weights,
        bias,
    })
}

/// Reads an int16 C-order `.npy` file.
pub fn read_npy_i16(path: &Path) -> Result<NpyArray, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes, path)
}

/// Writes `values` with `shape` as a little-endian int16 `.npy` (version
/// 1.0) file, atomically.
///
/// # Panics
/// When the shape's product differs from `values.len()`.
pub fn write_npy_i16(path: &Path, shape: &[u64], values: &[i16]) -> Result<(), DataError> {
    let bytes = npy_bytes(
        "<i2",
        shape,
        values.len(),
        values.iter().flat_map(|v| v.to_le_bytes()),
    );
    write_bytes(path, &bytes)
}

/// The bytes of a `uint8` `.npy` array of `shape` (masks: 1 = kept).
///
/// # Panics
/// When the shape's product differs from `values.len()`.
pub fn npy_u8_bytes(shape: &[u64], values: &[u8]) -> Vec<u8> {
    npy_bytes("|u1", shape, values.len(), values.iter().copied())
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    crate::stats::write_atomic(path, bytes).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A version-1.0 `.npy` file of `count` elements of type `descr`.
fn npy_bytes(descr: &str, shape: &[u64], count: usize, data: impl Iterator<Item = u8>) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<u64>(),
        count as u64,
        "shape/values mismatch"
    );
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad with spaces so the data starts on a 64-byte boundary; end with '\n'.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(unpadded + 64 + count * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(data);
    out
}

/// A parsed `.npy` header: element type, shape, element count, and where
/// the data starts.
struct Header {
    descr: String,
    shape: Vec<u64>,
    count: u64,
    data_start: usize,
}

fn parse_header(bytes: &[u8], path: &Path) -> Result<Header, DataError> {
    let fmt_err = |detail: String| DataError::Format {
        path: path.to_path_buf(),
        detail,
    };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(fmt_err("missing the \\x93NUMPY magic".into()));
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => {
            let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (n as usize, 12)
        }
        _ => {
            return Err(fmt_err(format!(
                "unsupported format version {major}.{}",
                bytes[7]
            )))
        }
    };
    let data_start = header_start + header_len;
    let header = bytes
        .get(header_start..data_start)
        .ok_or_else(|| fmt_err(format!("header of {header_len} bytes is truncated")))?;
    let header = std::str::from_utf8(header).map_err(|_| fmt_err("header is not text".into()))?;
    let descr =
        dict_value(header, "descr").ok_or_else(|| fmt_err("header has no 'descr'".into()))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"').to_string();
    match dict_value(header, "fortran_order") {
        Some("False") => {}
        Some("True") => {
            return Err(fmt_err(
                "Fortran-order arrays are not supported; save in C order".into(),
            ))
        }
        _ => return Err(fmt_err("header has no valid 'fortran_order'".into())),
    }
    let shape_text =
        dict_value(header, "shape").ok_or_else(|| fmt_err("header has no 'shape'".into()))?;
    let shape =
        parse_shape(shape_text).ok_or_else(|| fmt_err(format!("bad shape {shape_text}")))?;
    let count = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| fmt_err("shape overflows".into()))?;
    Ok(Header {
        descr,
        shape,
        count,
        data_start,
    })
}

/// Checks that the data holds exactly `count` elements of `size` bytes.
fn data<'b>(bytes: &'b [u8], h: &Header, size: u64, path: &Path) -> Result<&'b [u8], DataError> {
    let data = &bytes[h.data_start.min(bytes.len())..];
    if data.len() as u64 != h.count.saturating_mul(size) {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            detail: format!(
                "shape {:?} needs {} data bytes, file has {}",
                h.shape,
                h.count.saturating_mul(size),
                data.len()
            ),
        });
    }
    Ok(data)
}

fn parse(bytes: &[u8], path: &Path) -> Result<NpyArray, DataError> {
    let h = parse_header(bytes, path)?;
    let big_endian = match h.descr.as_str() {
        "<i2" | "|i2" => false,
        ">i2" => true,
        other => {
            return Err(DataError::Dtype {
                path: path.to_path_buf(),
                found: other.to_string(),
            })
        }
    };
    let values = data(bytes, &h, 2, path)?
        .chunks_exact(2)
        .map(|b| {
            let b = [b[0], b[1]];
            if big_endian {
                i16::from_be_bytes(b)
            } else {
                i16::from_le_bytes(b)
            }
        })
        .collect();
    Ok(NpyArray {
        shape: h.shape,
        values,
    })
}

/// Reads a numeric `.npy` file of any common element type (`u1`, `i1`,
/// `i2`, `i4`, `i8`, `u2`, `f4`, `f8`, either byte order) as `f64` values,
/// with its shape (for images and labels).
pub fn read_npy_numbers(path: &Path) -> Result<(Vec<u64>, Vec<f64>), DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let h = parse_header(&bytes, path)?;
    let d = h.descr.as_bytes();
    let (order, kind, size) = match d {
        [o, k, n] if n.is_ascii_digit() => (*o, *k, u64::from(n - b'0')),
        _ => (b'?', b'?', 0),
    };
    let supported = matches!(
        (kind, size),
        (b'u', 1 | 2 | 4 | 8) | (b'i', 1 | 2 | 4 | 8) | (b'f', 4 | 8)
    ) && matches!(order, b'<' | b'>' | b'|' | b'=');
    if !supported {
        return Err(DataError::Dtype {
            path: path.to_path_buf(),
            found: h.descr.clone(),
        });
    }
    let big = order == b'>';
    let values = data(&bytes, &h, size, path)?
        .chunks_exact(size as usize)
        .map(|c| number(c, kind, big))
        .collect();
    Ok((h.shape, values))
}

fn number(c: &[u8], kind: u8, big: bool) -> f64 {
    let mut b = [0u8; 8];
    b[..c.len()].copy_from_slice(c);
    if big {
        b[..c.len()].reverse();
    }
    let u = u64::from_le_bytes(b);
    let bits = c.len() * 8;
    match kind {
        b'f' if bits == 32 => f64::from(f32::from_bits(u as u32)),
        b'f' => f64::from_bits(u),
        b'i' => ((u << (64 - bits)) as i64 >> (64 - bits)) as f64,
        _ => u as f64,
    }
}

/// The raw text of the value of `key` in a Python dict literal: a quoted
/// string, a parenthesised tuple, or a bare word.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = match rest.chars().next()? {
        '(' => rest.find(')')? + 1,
        q @ ('\'' | '"') => rest[1..].find(q)? + 2,
        _ => rest.find([',', '}']).unwrap_or(rest.len()),
    };
    Some(rest[..end].trim())
}

fn parse_shape(text: &str) -> Option<Vec<u64>> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

#[cfg(test)]
#[path = "npy_tests.rs"]
mod tests;
