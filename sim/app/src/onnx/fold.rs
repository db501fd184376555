//! Constant folding: the values of small constant tensors (shapes, axes,
//! indices, scalars) and the operators exporters use to compute shapes
//! (Shape → Gather → Unsqueeze → Concat → Reshape, arithmetic on
//! dimensions, Where/Equal around -1). Values are held as `f64`, which is
//! exact for every integer a shape can hold, with a flag saying whether the
//! tensor is integer-typed.

use super::attrs::NodeCtx;
use super::error::OnnxErrorKind;
use super::proto::tensor_proto::DataType;
use super::tensor::{ConstData, Constant};

/// Most elements a folded tensor may have. Shapes are tiny; the cap keeps a
/// node that combines large weight tensors from materializing them as f64.
pub(crate) const FOLD_LIMIT: u64 = 1 << 22;

/// A materialized constant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Num {
    /// Dimensions.
    pub dims: Vec<u64>,
    /// Values in row-major order.
    pub vals: Vec<f64>,
    /// Integer-typed (INT64, INT32, ...); otherwise float.
    pub int: bool,
}

impl Num {
    /// A 1-D integer tensor.
    pub fn ints(v: &[i64]) -> Num {
        Num {
            dims: vec![v.len() as u64],
            vals: v.iter().map(|&x| x as f64).collect(),
            int: true,
        }
    }

    /// The values as integers (truncated toward zero for floats).
    pub fn as_ints(&self) -> Vec<i64> {
        self.vals.iter().map(|&v| v as i64).collect()
    }

    /// Back to a constant named `name`.
    pub fn into_constant<'a>(self, name: &str) -> Constant<'a> {
        let data = if self.int {
            ConstData::Ints(self.as_ints())
        } else {
            ConstData::Floats(self.vals.iter().map(|&v| v as f32).collect())
        };
        Constant {
            name: name.to_string(),
            dims: self.dims.iter().map(|&d| d as i64).collect(),
            data,
        }
    }
}

impl Constant<'_> {
    /// The values, materialized (at most [`FOLD_LIMIT`] elements).
    pub(crate) fn num(&self, ctx: &NodeCtx) -> Result<Num, OnnxErrorKind> {
        let n = self.elements();
        if n > FOLD_LIMIT {
            return Err(ctx.shape_err(format!(
                "would fold constant '{}' of {n} elements; eyesim folds constants of at most \
                 {FOLD_LIMIT} elements (shapes, indices, scales)",
                self.name
            )));
        }
        let dims = self.dims.iter().map(|&d| d.max(0) as u64).collect();
        let (vals, int) = match &self.data {
            ConstData::Ints(v) => (v.iter().map(|&x| x as f64).collect(), true),
            ConstData::Floats(v) => (v.iter().map(|&x| f64::from(x)).collect(), false),
            ConstData::Splat(v) => (vec![*v; n as usize], v.fract() == 0.0),
            ConstData::Tensor(t) => match DataType::try_from(t.data_type) {
                Ok(DataType::Int64 | DataType::Int32) => {
                    (self.ints()?.iter().map(|&x| x as f64).collect(), true)
                }
                ty => {
                    let int = !matches!(
                        ty,
                        Ok(DataType::Float
                            | DataType::Double
                            | DataType::Float16
                            | DataType::Bfloat16)
                    );
                    let v = self.values_for(ctx)?;
                    (v.iter().map(|&x| f64::from(x)).collect(), int)
                }
            },
        };
        Ok(Num { dims, vals, int })
    }
}

/// Resolves a possibly negative `axis` of a rank-`rank` tensor.
pub(crate) fn axis(ctx: &NodeCtx, axis: i64, rank: usize) -> Result<usize, OnnxErrorKind> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(ctx.bad_attr("axis", format!("{axis} is out of range for rank {rank}")));
    }
    Ok(if axis < 0 { axis + r } else { axis } as usize)
}

/// Numpy broadcasting of two shapes.
pub(crate) fn broadcast(ctx: &NodeCtx, a: &[u64], b: &[u64]) -> Result<Vec<u64>, OnnxErrorKind> {
    let rank = a.len().max(b.len());
    let at = |d: &[u64], i: usize| {
        let off = rank - d.len();
        if i < off {
            1
        } else {
            d[i - off]
        }
    };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(ctx.shape_err(format!("shapes {a:?} and {b:?} do not broadcast"))),
        })
        .collect()
}

/// Row-major strides of `dims`.
fn strides(dims: &[u64]) -> Vec<u64> {
    let mut s = vec![1u64; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

/// `x` broadcast to `dims` (which `x.dims` broadcasts to).
fn expand_to(x: &Num, dims: &[u64]) -> Vec<f64> {
    let n: u64 = dims.iter().product();
    let off = dims.len() - x.dims.len();
    let xs = strides(&x.dims);
    let os = strides(dims);
    (0..n)
        .map(|flat| {
            let mut src = 0u64;
            for (i, &d) in x.dims.iter().enumerate() {
                let coord = (flat / os[i + off]) % dims[i + off];
                if d != 1 {
                    src += coord * xs[i];
                }
            }
            x.vals[src as usize]
        })
        .collect()
}

/// Checks that a result of `dims` stays under the fold limit.
fn check_size(ctx: &NodeCtx, dims: &[u64]) -> Result<(), OnnxErrorKind> {
    match dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d)) {
        Some(n) if n <= FOLD_LIMIT => Ok(()),
        _ => Err(ctx.shape_err(format!(
            "the folded result {dims:?} exceeds {FOLD_LIMIT} elements"
        ))),
    }
}

/// Element-wise `f` over broadcast operands; the result is integer when
/// every operand is (or `int_out` forces it, for comparisons).
pub(crate) fn elementwise(
    ctx: &NodeCtx,
    xs: &[Num],
    int_out: Option<bool>,
    f: impl Fn(&[f64]) -> f64,
) -> Result<Num, OnnxErrorKind> {
    let mut dims: Vec<u64> = Vec::new();
    for x in xs {
        dims = broadcast(ctx, &dims, &x.dims)?;
    }
    check_size(ctx, &dims)?;
    let cols: Vec<Vec<f64>> = xs.iter().map(|x| expand_to(x, &dims)).collect();
    let n = cols.first().map_or(0, Vec::len);
    let mut row = vec![0.0; xs.len()];
    let vals = (0..n)
        .map(|i| {
            for (r, c) in row.iter_mut().zip(&cols) {
                *r = c[i];
            }
            f(&row)
        })
        .collect();
    let int = int_out.unwrap_or_else(|| xs.iter().all(|x| x.int));
    Ok(Num { dims, vals, int })
}

/// Operators [`eval_op`] folds.
const EVAL_OPS: &[&str] = &[
    "Add",
    "Sum",
    "Sub",
    "Mul",
    "Div",
    "Mod",
    "Pow",
    "Min",
    "Max",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Not",
    "Where",
    "Neg",
    "Abs",
    "Floor",
    "Ceil",
    "Round",
    "Sqrt",
    "Reciprocal",
    "Relu",
    "Sigmoid",
];

/// Whether [`eval_op`] folds `op`.
pub(crate) fn evaluable(op: &str) -> bool {
    EVAL_OPS.contains(&op)
}

/// Folds element-wise operator `op` over constant operands; `None` when
/// `op` is not one eyesim evaluates.
pub(crate) fn eval_op(ctx: &NodeCtx, op: &str, xs: &[Num]) -> Option<Result<Num, OnnxErrorKind>> {
    let arity = match op {
        "Where" => 3,
        "Not" | "Neg" | "Abs" | "Floor" | "Ceil" | "Round" | "Sqrt" | "Reciprocal" | "Relu"
        | "Sigmoid" => 1,
        "Add" | "Sum" | "Mul" | "Min" | "Max" => xs.len().max(1),
        _ => 2,
    };
    if xs.len() != arity {
        return None;
    }
    let int = xs.iter().all(|x| x.int);
    let b = |v: bool| f64::from(u8::from(v));
    let r = match op {
        "Add" | "Sum" => elementwise(ctx, xs, None, |v| v.iter().sum()),
        "Sub" => elementwise(ctx, xs, None, |v| v[0] - v[1]),
        "Mul" => elementwise(ctx, xs, None, |v| v.iter().product()),
        // Integer division truncates, as ONNX Runtime does.
        "Div" if int => elementwise(ctx, xs, None, |v| {
            if v[1] == 0.0 {
                0.0
            } else {
                (v[0] / v[1]).trunc()
            }
        }),
        "Div" => elementwise(ctx, xs, None, |v| v[0] / v[1]),
        "Mod" => elementwise(
            ctx,
            xs,
            None,
            |v| if v[1] == 0.0 { 0.0 } else { v[0] % v[1] },
        ),
        "Pow" => elementwise(ctx, xs, Some(xs[0].int), |v| v[0].powf(v[1])),
        "Min" => elementwise(ctx, xs, None, |v| {
            v.iter().copied().fold(f64::MAX, f64::min)
        }),
        "Max" => elementwise(ctx, xs, None, |v| {
            v.iter().copied().fold(f64::MIN, f64::max)
        }),
        "Equal" => elementwise(ctx, xs, Some(true), |v| b(v[0] == v[1])),
        "Less" => elementwise(ctx, xs, Some(true), |v| b(v[0] < v[1])),
        "Greater" => elementwise(ctx, xs, Some(true), |v| b(v[0] > v[1])),
        "LessOrEqual" => elementwise(ctx, xs, Some(true), |v| b(v[0] <= v[1])),
        "GreaterOrEqual" => elementwise(ctx, xs, Some(true), |v| b(v[0] >= v[1])),
        "And" => elementwise(ctx, xs, Some(true), |v| b(v[0] != 0.0 && v[1] != 0.0)),
        "Or" => elementwise(ctx, xs, Some(true), |v| b(v[0] != 0.0 || v[1] != 0.0)),
        "Not" => elementwise(ctx, xs, Some(true), |v| b(v[0] == 0.0)),
        "Where" => {
            let int = xs[1].int && xs[2].int;
            elementwise(
                ctx,
                xs,
                Some(int),
                |v| if v[0] != 0.0 { v[1] } else { v[2] },
            )
        }
        "Neg" => elementwise(ctx, xs, None, |v| -v[0]),
        "Abs" => elementwise(ctx, xs, None, |v| v[0].abs()),
        "Floor" => elementwise(ctx, xs, None, |v| v[0].floor()),
        "Ceil" => elementwise(ctx, xs, None, |v| v[0].ceil()),
        "Round" => elementwise(ctx, xs, None, |v| v[0].round_ties_even()),
        "Sqrt" => elementwise(ctx, xs, Some(false), |v| v[0].sqrt()),
        "Reciprocal" => elementwise(ctx, xs, Some(false), |v| 1.0 / v[0]),
        "Relu" => elementwise(ctx, xs, None, |v| v[0].max(0.0)),
        "Sigmoid" => elementwise(ctx, xs, Some(false), |v| 1.0 / (1.0 + (-v[0]).exp())),
        _ => return None,
    };
    Some(r)
}

/// Output dims of numpy-style `Gather` along `axis`.
pub(crate) fn gather(
    ctx: &NodeCtx,
    data: &Num,
    idx: &Num,
    axis_attr: i64,
) -> Result<Num, OnnxErrorKind> {
    if data.dims.is_empty() {
        return Err(ctx.shape_err("Gather on a scalar"));
    }
    let ax = axis(ctx, axis_attr, data.dims.len())?;
    let extent = data.dims[ax];
    let mut dims = data.dims[..ax].to_vec();
    dims.extend(&idx.dims);
    dims.extend(&data.dims[ax + 1..]);
    check_size(ctx, &dims)?;
    let outer: u64 = data.dims[..ax].iter().product();
    let inner: u64 = data.dims[ax + 1..].iter().product();
    let mut vals = Vec::new();
    for o in 0..outer {
        for &i in &idx.vals {
            let i = i as i64;
            let i = if i < 0 { i + extent as i64 } else { i };
            if i < 0 || i as u64 >= extent {
                return Err(ctx.shape_err(format!(
                    "index {i} is out of range for dimension {ax} of extent {extent}"
                )));
            }
            let start = ((o * extent + i as u64) * inner) as usize;
            vals.extend_from_slice(&data.vals[start..start + inner as usize]);
        }
    }
    Ok(Num {
        dims,
        vals,
        int: data.int,
    })
}

/// `x` transposed by `perm` (a permutation of its axes).
pub(crate) fn transpose<T: Copy>(x: &[T], dims: &[u64], perm: &[usize]) -> Vec<T> {
    let out_dims: Vec<u64> = perm.iter().map(|&p| dims[p]).collect();
    let xs = strides(dims);
    let os = strides(&out_dims);
    let n: u64 = dims.iter().product();
    (0..n)
        .map(|flat| {
            let mut src = 0u64;
            for (k, &p) in perm.iter().enumerate() {
                src += ((flat / os[k]) % out_dims[k]) * xs[p];
            }
            x[src as usize]
        })
        .collect()
}

/// Concatenation of constants along `axis`.
pub(crate) fn concat(ctx: &NodeCtx, xs: &[Num], axis_attr: i64) -> Result<Num, OnnxErrorKind> {
    let first = xs.first().ok_or_else(|| ctx.shape_err("has no inputs"))?;
    let ax = axis(ctx, axis_attr, first.dims.len())?;
    for x in xs {
        let same_rank = x.dims.len() == first.dims.len();
        let other_axes_agree = same_rank
            && x.dims
                .iter()
                .zip(&first.dims)
                .enumerate()
                .all(|(i, (a, b))| i == ax || a == b);
        if !other_axes_agree {
            return Err(ctx.shape_err(format!(
                "constant inputs {:?} and {:?} cannot be concatenated on axis {ax}",
                first.dims, x.dims
            )));
        }
    }
    let mut dims = first.dims.clone();
    dims[ax] = xs.iter().map(|x| x.dims[ax]).sum();
    check_size(ctx, &dims)?;
    let outer: u64 = first.dims[..ax].iter().product();
    let mut vals = Vec::new();
    for o in 0..outer {
        for x in xs {
            let chunk = (x.dims[ax..].iter().product::<u64>()) as usize;
            let start = o as usize * chunk;
            vals.extend_from_slice(&x.vals[start..start + chunk]);
        }
    }
    Ok(Num {
        dims,
        vals,
        int: xs.iter().all(|x| x.int),
    })
}

/// The resolved ranges of `Slice` (start, end, step per axis of `dims`),
/// with ONNX's clamping of out-of-range starts and ends.
pub(crate) fn slice_ranges(
    ctx: &NodeCtx,
    dims: &[u64],
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<Vec<(i64, i64, i64)>, OnnxErrorKind> {
    let mut r: Vec<(i64, i64, i64)> = dims.iter().map(|&d| (0, d as i64, 1)).collect();
    if starts.len() != ends.len() {
        return Err(ctx.shape_err(format!(
            "starts {starts:?} and ends {ends:?} differ in length"
        )));
    }
    for k in 0..starts.len() {
        let ax = match axes {
            Some(a) => axis(
                ctx,
                *a.get(k).ok_or_else(|| ctx.shape_err("too few axes"))?,
                dims.len(),
            )?,
            None => k,
        };
        if ax >= dims.len() {
            return Err(ctx.shape_err(format!(
                "slices {} axes of a rank-{} tensor",
                k + 1,
                dims.len()
            )));
        }
        let step = steps.and_then(|s| s.get(k).copied()).unwrap_or(1);
        if step == 0 {
            return Err(ctx.shape_err("a slice step is 0"));
        }
        let d = dims[ax] as i64;
        let fix = |v: i64, lo: i64, hi: i64| {
            let v = if v < 0 { v.saturating_add(d) } else { v };
            v.clamp(lo, hi)
        };
        r[ax] = if step > 0 {
            (fix(starts[k], 0, d), fix(ends[k], 0, d), step)
        } else {
            (fix(starts[k], 0, d - 1), fix(ends[k], -1, d - 1), step)
        };
    }
    Ok(r)
}

/// Elements a slice range selects.
pub(crate) fn range_len((start, end, step): (i64, i64, i64)) -> u64 {
    if step > 0 && end > start {
        ((end - start + step - 1) / step) as u64
    } else if step < 0 && start > end {
        ((start - end - step - 1) / -step) as u64
    } else {
        0
    }
}

/// Applies slice `ranges` to a constant.
pub(crate) fn slice(x: &Num, ranges: &[(i64, i64, i64)]) -> Num {
    let dims: Vec<u64> = ranges.iter().map(|&r| range_len(r)).collect();
    let xs = strides(&x.dims);
    let os = strides(&dims);
    let n: u64 = dims.iter().product();
    let vals = (0..n)
        .map(|flat| {
            let mut src = 0i64;
            for (k, &(start, _, step)) in ranges.iter().enumerate() {
                let c = ((flat / os[k]) % dims[k]) as i64;
                src += (start + c * step) * xs[k] as i64;
            }
            x.vals[src as usize]
        })
        .collect();
    Num {
        dims,
        vals,
        int: x.int,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::NodeProto;

    fn ctx(node: &NodeProto) -> NodeCtx<'_> {
        NodeCtx::new(0, node, 13)
    }

    #[test]
    fn gather_picks_the_batch_dimension_of_a_shape() {
        let n = NodeProto::default();
        let shape = Num::ints(&[8, 64, 7, 7]);
        let idx = Num {
            dims: vec![],
            vals: vec![0.0],
            int: true,
        };
        let g = gather(&ctx(&n), &shape, &idx, 0).unwrap();
        assert_eq!((g.dims.clone(), g.as_ints()), (vec![], vec![8]));
        let last = Num::ints(&[-1]);
        assert_eq!(
            gather(&ctx(&n), &shape, &last, 0).unwrap().as_ints(),
            vec![7]
        );
    }

    #[test]
    fn broadcasting_arithmetic_and_where() {
        let n = NodeProto::default();
        let a = Num::ints(&[2, 3, 4]);
        let two = Num {
            dims: vec![],
            vals: vec![2.0],
            int: true,
        };
        let m = eval_op(&ctx(&n), "Mul", &[a.clone(), two])
            .unwrap()
            .unwrap();
        assert_eq!(m.as_ints(), vec![4, 6, 8]);
        let d = eval_op(&ctx(&n), "Div", &[Num::ints(&[7, -7]), Num::ints(&[2, 2])])
            .unwrap()
            .unwrap();
        assert_eq!(d.as_ints(), vec![3, -3]);
        let cond = Num::ints(&[1, 0, 1]);
        let w = eval_op(&ctx(&n), "Where", &[cond, a, Num::ints(&[9])])
            .unwrap()
            .unwrap();
        assert_eq!(w.as_ints(), vec![2, 9, 4]);
    }

    #[test]
    fn transpose_and_slice_move_the_right_elements() {
        // 2x3 → 3x2.
        let t = transpose(&[0., 1., 2., 3., 4., 5.], &[2, 3], &[1, 0]);
        assert_eq!(t, vec![0., 3., 1., 4., 2., 5.]);
        let n = NodeProto::default();
        let x = Num::ints(&[10, 11, 12, 13, 14]);
        let r = slice_ranges(&ctx(&n), &[5], &[1], &[i64::MAX], None, Some(&[2])).unwrap();
        assert_eq!(slice(&x, &r).as_ints(), vec![11, 13]);
        let r = slice_ranges(&ctx(&n), &[5], &[-1], &[i64::MIN], None, Some(&[-1])).unwrap();
        assert_eq!(slice(&x, &r).as_ints(), vec![14, 13, 12, 11, 10]);
    }

    #[test]
    fn concat_of_shape_pieces() {
        let n = NodeProto::default();
        let c = concat(&ctx(&n), &[Num::ints(&[4]), Num::ints(&[-1])], 0).unwrap();
        assert_eq!(c.as_ints(), vec![4, -1]);
    }
}
