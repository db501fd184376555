//! Builds small ONNX models in memory with the prost types.

use eyesim::onnx::proto::attribute_proto::AttributeType;
use eyesim::onnx::proto::tensor_proto::DataType;
use eyesim::onnx::proto::tensor_shape_proto::{dimension, Dimension};
use eyesim::onnx::proto::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use prost::Message;
use std::path::{Path, PathBuf};

/// A graph under construction: one image input named "x"; the model
/// declares opset 13 unless `opset` says otherwise.
pub struct Graph(pub GraphProto, pub i64);

impl Graph {
    /// Input "x" with these dims; 0 stands for a symbolic dimension.
    pub fn new(dims: &[i64]) -> Self {
        let dim = dims
            .iter()
            .map(|&d| Dimension {
                value: Some(if d == 0 {
                    dimension::Value::DimParam("N".into())
                } else {
                    dimension::Value::DimValue(d)
                }),
            })
            .collect();
        let input = ValueInfoProto {
            name: "x".into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: DataType::Float as i32,
                    shape: Some(TensorShapeProto { dim }),
                })),
            }),
        };
        Graph(
            GraphProto {
                name: "test".into(),
                input: vec![input],
                ..Default::default()
            },
            13,
        )
    }

    /// A FLOAT initializer whose values come from `value(i)`; with
    /// `value = None` the tensor carries dims only (density 1).
    pub fn weight(&mut self, name: &str, dims: &[i64], value: Option<&dyn Fn(usize) -> f32>) {
        let n: i64 = dims.iter().product();
        let float_data = value.map_or_else(Vec::new, |f| (0..n as usize).map(f).collect());
        self.0.initializer.push(TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: DataType::Float as i32,
            float_data,
            ..Default::default()
        });
    }

    /// An INT64 initializer (shapes), stored as raw little-endian bytes.
    pub fn int64s(&mut self, name: &str, values: &[i64]) {
        self.0.initializer.push(int64_tensor(name, values));
    }

    /// Appends a node.
    pub fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) {
        self.0.node.push(NodeProto {
            op_type: op.into(),
            name: name.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute: attrs,
            ..Default::default()
        });
    }

    /// The serialized model.
    pub fn bytes(self) -> Vec<u8> {
        ModelProto {
            ir_version: 8,
            producer_name: "eyesim-tests".into(),
            graph: Some(self.0),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: self.1,
            }],
        }
        .encode_to_vec()
    }

    /// Writes the model to `dir/<name>.onnx`.
    pub fn write(self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(format!("{name}.onnx"));
        std::fs::write(&path, self.bytes()).unwrap();
        path
    }
}

pub fn int64_tensor(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![values.len() as i64],
        data_type: DataType::Int64 as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A scalar INT64 tensor.
pub fn int64_scalar(name: &str, v: i64) -> TensorProto {
    TensorProto {
        dims: vec![],
        ..int64_tensor(name, &[v])
    }
}

pub fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: v,
        r#type: AttributeType::Float as i32,
        ..Default::default()
    }
}

pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: AttributeType::Ints as i32,
        ..Default::default()
    }
}

pub fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: v,
        r#type: AttributeType::Int as i32,
        ..Default::default()
    }
}

pub fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: v.as_bytes().to_vec(),
        r#type: AttributeType::String as i32,
        ..Default::default()
    }
}

pub fn tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        t: Some(t),
        r#type: AttributeType::Tensor as i32,
        ..Default::default()
    }
}
