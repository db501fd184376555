//! The IDX format of the MNIST family (and of Debian's Fashion-MNIST
//! files): a big-endian header `00 00 type rank`, `rank` big-endian `u32`
//! dimensions, then the values, optionally gzip-compressed as a whole.

use eyesim_core::data::DataError;
use std::io::Read;
use std::path::Path;

/// An IDX array of unsigned bytes (the only type the MNIST files use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<u32>,
    /// Values in C order.
    pub values: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes, gzip-compressed or not.
pub fn read_idx(path: &Path) -> Result<IdxArray, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| DataError::Format {
                path: path.to_path_buf(),
                detail: format!("gzip stream is damaged or truncated: {e}"),
            })?;
        out
    } else {
        raw
    };
    parse_idx(&bytes).map_err(|detail| DataError::Format {
        path: path.to_path_buf(),
        detail,
    })
}

/// Parses IDX bytes (already decompressed).
pub fn parse_idx(bytes: &[u8]) -> Result<IdxArray, String> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err("not an IDX file (the first two bytes must be 0)".into());
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "element type 0x{:02x} is not supported; eyesim reads unsigned bytes (0x08)",
            bytes[2]
        ));
    }
    let rank = usize::from(bytes[3]);
    let header = 4 + 4 * rank;
    if rank == 0 || bytes.len() < header {
        return Err(format!("header of {rank} dimensions is truncated"));
    }
    let dims: Vec<u32> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let count = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)))
        .ok_or("dimensions overflow")?;
    let data = &bytes[header..];
    if data.len() as u64 != count {
        return Err(format!(
            "truncated or padded: dimensions {dims:?} need {count} values, the file has {}",
            data.len()
        ));
    }
    Ok(IdxArray {
        dims,
        values: data.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], n: usize) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend((0..n).map(|i| i as u8));
        b
    }

    #[test]
    fn reads_dims_and_values() {
        let a = parse_idx(&idx(&[2, 3], 6)).unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.values, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn truncation_and_bad_headers_are_errors() {
        let e = parse_idx(&idx(&[2, 3], 5)).unwrap_err();
        assert!(e.contains("need 6 values, the file has 5"), "{e}");
        assert!(parse_idx(&[1, 0, 8, 1]).unwrap_err().contains("not an IDX"));
        assert!(parse_idx(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0])
            .unwrap_err()
            .contains("0x0d"));
        assert!(parse_idx(&[0, 0, 8, 3, 0])
            .unwrap_err()
            .contains("truncated"));
    }
}
