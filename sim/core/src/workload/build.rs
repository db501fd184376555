//! Trace text -> validated [`Network`]: keys, types, the layer DAG, shapes.

use super::locate::Ctx;
use super::raw::{kind_accepts, RawLayer, RawNetwork, RawTrace, LAYER_KEYS, NETWORK_KEYS};
use super::shapes::{infer, Spec};
use super::{FmapShape, Layer, Network, Sparsity};
use crate::input::InputError;
use crate::tomldoc::{blank, deserialize_all, suggest, Location, SpannedDoc};
use petgraph::graph::{DiGraph, NodeIndex};

const KINDS: &[&str] = &["conv", "fc", "maxpool", "avgpool", "add", "concat", "host"];
/// The name `inputs` uses for the network input.
pub(super) const NETWORK_INPUT: &str = "input";

/// Parses and validates a trace. Unknown keys, wrong types, `[network]`
/// values and per-layer values are all checked and reported together; the
/// layer graph and shapes, which need all of those, are checked after.
pub(super) fn build(text: &str, origin: &str) -> Result<Network, InputError> {
    let doc = SpannedDoc::parse(text, origin)
        .map_err(|(loc, message)| InputError::Syntax { loc, message })?;
    let names = layer_names(text);
    let ctx = Ctx { doc: &doc, names };
    let (mut errors, unknown) = check_keys(&ctx);
    let (raw, _) = deserialize_all::<RawTrace>(&doc, &blank(text, &unknown), &mut |e| {
        let err = serde_error(&ctx, e);
        let path = e
            .span()
            .and_then(|s| doc.path_at(s.start))
            .map(<[String]>::to_vec);
        errors.push(err);
        path
    });
    let Some(raw) = raw else {
        return Err(InputError::one_or_several(errors));
    };
    let net = network_header(&ctx, raw.network.unwrap_or_default(), &mut errors);
    let specs = layer_specs(&ctx, &raw.layer, &mut errors);
    let (Some(net), true) = (net, errors.is_empty()) else {
        return Err(InputError::one_or_several(drop_missing_if_misspelt(errors)));
    };
    let inputs = resolve_inputs(&ctx, &specs)?;
    let order = topological_order(&ctx, &inputs)?;
    assemble(&ctx, net, specs, &inputs, &order)
}

/// Errors without a `missing key` error for a key that an `unknown key`
/// error of the same table already suggests: a misspelling is one error.
fn drop_missing_if_misspelt(errors: Vec<InputError>) -> Vec<InputError> {
    let suggested: Vec<(String, String)> = errors
        .iter()
        .filter_map(|e| match e {
            InputError::UnknownKey { scope, hint, .. } => {
                Some((scope.clone(), hint.split('`').nth(1)?.to_string()))
            }
            _ => None,
        })
        .collect();
    errors
        .into_iter()
        .filter(|e| match e {
            InputError::Missing { scope, key, .. } => {
                !suggested.iter().any(|(s, k)| s == scope && k == key)
            }
            _ => true,
        })
        .collect()
}

/// Layer names as written (best effort, before validation), for scopes.
fn layer_names(text: &str) -> Vec<String> {
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return Vec::new();
    };
    let Some(toml::Value::Array(layers)) = table.get("layer") else {
        return Vec::new();
    };
    layers
        .iter()
        .map(|l| {
            l.get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn scope_of(ctx: &Ctx, path: &[String]) -> String {
    match path.first().map(String::as_str) {
        Some("network") => "[network]".to_string(),
        Some("layer") => match path.get(1).and_then(|i| i.parse::<usize>().ok()) {
            Some(i) => ctx.scope(i),
            None => "[[layer]]".to_string(),
        },
        _ => "top level".to_string(),
    }
}

/// Every unknown key, and the source ranges of their entries.
fn check_keys(ctx: &Ctx) -> (Vec<InputError>, Vec<std::ops::Range<usize>>) {
    let (mut errors, mut ranges) = (Vec::new(), Vec::new());
    for e in ctx.doc.entries() {
        let (allowed, key): (&[&str], &str) = match e.path.as_slice() {
            [top] => (&["network", "layer"], top),
            [t, k] if t == "network" => (NETWORK_KEYS, k),
            [t, _] if t == "layer" => continue,
            [t, _, k] if t == "layer" => (LAYER_KEYS, k),
            _ => continue, // inside a value: serde reports the type
        };
        if !allowed.contains(&key) {
            ranges.push(e.range.clone());
            errors.push(InputError::UnknownKey {
                loc: ctx.doc.at(e.range.start),
                scope: scope_of(ctx, &e.path),
                key: key.to_string(),
                hint: hint(suggest(key, allowed.iter().copied())),
            });
        }
    }
    (errors, ranges)
}

pub(super) fn hint(s: Option<&str>) -> String {
    s.map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

fn serde_error(ctx: &Ctx, e: &toml::de::Error) -> InputError {
    let (loc, path) = match e.span() {
        Some(s) => (
            ctx.doc.at(s.start),
            ctx.doc.path_at(s.start).map(<[String]>::to_vec),
        ),
        None => (Location::whole(ctx.doc.origin()), None),
    };
    let path = path.unwrap_or_default();
    InputError::WrongType {
        loc,
        scope: scope_of(ctx, &path),
        key: path.last().cloned().unwrap_or_default(),
        message: e.message().trim().to_string(),
    }
}

/// Name, batch, input shape and precision of the network.
struct Header {
    name: String,
    batch: u32,
    input: FmapShape,
    precision_bits: u32,
}

fn network_header(ctx: &Ctx, raw: RawNetwork, errors: &mut Vec<InputError>) -> Option<Header> {
    let loc = |k: &str| ctx.doc.loc_of(&["network", k]);
    let missing = |k: &str| InputError::Missing {
        loc: loc(k),
        scope: "[network]".into(),
        key: k.into(),
    };
    let invalid = |k: &str, message: String| InputError::Invalid {
        loc: loc(k),
        scope: "[network]".into(),
        key: k.into(),
        message,
    };
    fn keep<T>(errors: &mut Vec<InputError>, r: Result<T, InputError>) -> Option<T> {
        r.map_err(|e| errors.push(e)).ok()
    }
    let batch = keep(
        errors,
        match raw.batch {
            None => Err(missing("batch")),
            Some(0) => Err(invalid(
                "batch",
                "= 0: a batch needs at least one image".into(),
            )),
            Some(b) => Ok(b),
        },
    );
    let input = keep(
        errors,
        match raw.input.as_deref() {
            None => Err(missing("input")),
            Some(&[c, h, w]) if c > 0 && h > 0 && w > 0 => Ok(FmapShape { c, h, w }),
            Some(other) => Err(invalid(
                "input",
                format!("= {other:?}: must be [C, H, W], each at least 1"),
            )),
        },
    );
    let precision_bits = keep(
        errors,
        match raw.precision_bits.unwrap_or(16) {
            p @ 1..=32 => Ok(p),
            p => Err(invalid(
                "precision_bits",
                format!("= {p} is out of range: must be from 1 to 32"),
            )),
        },
    );
    let name = keep(
        errors,
        match raw.name {
            Some(n) => crate::stats::check_file_name(&n)
                .map(|()| n.clone())
                .map_err(|why| invalid("name", format!("= {n:?}: {why}"))),
            None => Ok(std::path::Path::new(ctx.doc.origin())
                .file_stem()
                .map_or_else(
                    || "network".into(),
                    |s| crate::stats::sanitize_file_name(&s.to_string_lossy()),
                )),
        },
    );
    Some(Header {
        name: name?,
        batch: batch?,
        input: input?,
        precision_bits: precision_bits?,
    })
}

/// Validates per-layer keys that do not depend on other layers; records
/// the first problem of every layer.
fn layer_specs(ctx: &Ctx, raw: &[RawLayer], errors: &mut Vec<InputError>) -> Vec<Spec> {
    let mut seen = std::collections::HashSet::new();
    let mut specs = Vec::with_capacity(raw.len());
    for (i, l) in raw.iter().enumerate() {
        match layer_spec(ctx, i, l, &mut seen) {
            Ok(s) => specs.push(s),
            Err(e) => errors.push(e),
        }
    }
    specs
}

fn layer_spec(
    ctx: &Ctx,
    i: usize,
    l: &RawLayer,
    seen: &mut std::collections::HashSet<String>,
) -> Result<Spec, InputError> {
    let name = l.name.clone().ok_or_else(|| ctx.missing(i, "name"))?;
    check_name(ctx, i, &name)?;
    if !seen.insert(name.clone()) {
        return Err(InputError::Duplicate {
            loc: ctx.loc(i, "name"),
            layer: name,
        });
    }
    let kind = l.kind.clone().ok_or_else(|| ctx.missing(i, "kind"))?;
    if !KINDS.contains(&kind.as_str()) {
        return Err(ctx.invalid(
            i,
            "kind",
            format!(
                "= \"{kind}\" is not a layer kind{}; kinds: {}",
                hint(suggest(&kind, KINDS.iter().copied())),
                KINDS.join(", ")
            ),
        ));
    }
    for key in given_keys(l) {
        if !kind_accepts(&kind, key) {
            return Err(ctx.invalid(i, key, format!("does not apply to a `{kind}` layer")));
        }
    }
    Spec::from_raw(ctx, i, name, kind, l)
}

fn check_name(ctx: &Ctx, i: usize, name: &str) -> Result<(), InputError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || !name.chars().all(ok_char) {
        return Err(ctx.invalid(
            i,
            "name",
            format!("= \"{name}\": names use letters, digits, '_', '-' and '.' only"),
        ));
    }
    if name == NETWORK_INPUT {
        return Err(ctx.invalid(
            i,
            "name",
            format!("= \"{name}\" is reserved for the network input"),
        ));
    }
    Ok(())
}

fn given_keys(l: &RawLayer) -> Vec<&'static str> {
    let flags = [
        ("filters", l.filters.is_some()),
        ("kernel", l.kernel.is_some()),
        ("stride", l.stride.is_some()),
        ("padding", l.padding.is_some()),
        ("dilation", l.dilation.is_some()),
        ("groups", l.groups.is_some()),
        ("outputs", l.outputs.is_some()),
        ("ceil_mode", l.ceil_mode.is_some()),
        ("global", l.global.is_some()),
        ("weight_density", l.weight_density.is_some()),
        ("op", l.op.is_some()),
        ("output", l.output.is_some()),
        ("host_reads", l.host_reads.is_some()),
        ("host_ops", l.host_ops.is_some()),
    ];
    flags.iter().filter(|f| f.1).map(|f| f.0).collect()
}

/// For each layer, the file indices of its producers (`None` = network input).
fn resolve_inputs(ctx: &Ctx, specs: &[Spec]) -> Result<Vec<Vec<Option<usize>>>, InputError> {
    let index: std::collections::HashMap<&str, usize> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let mut all = Vec::with_capacity(specs.len());
    for (i, s) in specs.iter().enumerate() {
        let names = match &s.inputs {
            Some(v) => v.clone(),
            None if i == 0 => vec![NETWORK_INPUT.to_string()],
            None => vec![specs[i - 1].name.clone()],
        };
        if names.is_empty() {
            return Err(ctx.invalid(
                i,
                "inputs",
                "is empty: name at least one layer or \"input\"".into(),
            ));
        }
        let mut ins = Vec::with_capacity(names.len());
        for n in &names {
            if n == NETWORK_INPUT {
                ins.push(None);
                continue;
            }
            match index.get(n.as_str()) {
                Some(&j) => ins.push(Some(j)),
                None => {
                    let candidates = specs.iter().map(|s| s.name.as_str()).chain([NETWORK_INPUT]);
                    return Err(InputError::UnknownInput {
                        loc: ctx.loc(i, "inputs"),
                        layer: s.name.clone(),
                        input: n.clone(),
                        hint: hint(suggest(n, candidates)),
                    });
                }
            }
        }
        if ins.len() > 1 && ins.contains(&None) {
            return Err(ctx.invalid(
                i,
                "inputs",
                "mixes \"input\" with layers: the network input can only be a layer's sole input"
                    .into(),
            ));
        }
        all.push(ins);
    }
    Ok(all)
}

/// File order if it is already topological, else petgraph's order; a cycle
/// is reported with every layer on it.
fn topological_order(ctx: &Ctx, inputs: &[Vec<Option<usize>>]) -> Result<Vec<usize>, InputError> {
    let in_file_order = inputs
        .iter()
        .enumerate()
        .all(|(i, ins)| ins.iter().flatten().all(|&j| j < i));
    if in_file_order {
        return Ok((0..inputs.len()).collect());
    }
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..inputs.len()).map(|i| g.add_node(i)).collect();
    for (i, ins) in inputs.iter().enumerate() {
        for &j in ins.iter().flatten() {
            g.add_edge(nodes[j], nodes[i], ());
        }
    }
    match petgraph::algo::toposort(&g, None) {
        Ok(order) => Ok(order.into_iter().map(|n| g[n]).collect()),
        Err(_) => {
            let cycle = petgraph::algo::tarjan_scc(&g)
                .into_iter()
                .find(|scc| scc.len() > 1 || g.contains_edge(scc[0], scc[0]))
                .unwrap_or_default();
            let mut members: Vec<usize> = cycle.iter().map(|&n| g[n]).collect();
            members.sort_unstable();
            let first = members.first().copied().unwrap_or(0);
            let layers: Vec<String> = members
                .iter()
                .map(|&i| format!("`{}`", ctx.names[i]))
                .collect();
            Err(InputError::Cycle {
                loc: ctx.loc(first, "inputs"),
                layers: layers.join(" -> "),
            })
        }
    }
}

/// Infers shapes in topological order and fills the sparsity defaults.
fn assemble(
    ctx: &Ctx,
    net: Header,
    specs: Vec<Spec>,
    inputs: &[Vec<Option<usize>>],
    order: &[usize],
) -> Result<Network, InputError> {
    let mut position = vec![0usize; specs.len()];
    for (pos, &i) in order.iter().enumerate() {
        position[i] = pos;
    }
    let mut shapes: Vec<Option<FmapShape>> = vec![None; specs.len()];
    let mut layers = Vec::with_capacity(specs.len());
    for &i in order {
        let ins: Vec<(String, FmapShape)> = inputs[i]
            .iter()
            .map(|j| match j {
                None => (NETWORK_INPUT.to_string(), net.input),
                Some(j) => (specs[*j].name.clone(), shapes[*j].unwrap_or(net.input)),
            })
            .collect();
        let s = &specs[i];
        let (kind, input, output) = infer(ctx, i, s, &ins)?;
        shapes[i] = Some(output);
        layers.push(Layer {
            name: s.name.clone(),
            kind,
            inputs: inputs[i].iter().flatten().map(|&j| position[j]).collect(),
            input,
            output,
            relu: s.relu,
            sparsity: Sparsity {
                weight_density: s.weight_density,
                ifmap_zero_fraction: s.ifmap_zero_fraction,
                ofmap_zero_fraction: 0.0,
            },
            precision_bits: net.precision_bits,
        });
    }
    for (pos, &i) in order.iter().enumerate() {
        layers[pos].sparsity.ofmap_zero_fraction = match specs[i].ofmap_zero_fraction {
            Some(f) => f,
            None => default_ofmap_zero_fraction(&layers, pos),
        };
    }
    Ok(Network {
        name: net.name,
        batch: net.batch,
        input: net.input,
        layers,
    })
}

/// The single consumer's ifmap zero fraction, else 0 (the agreed default).
pub(super) fn default_ofmap_zero_fraction(layers: &[Layer], pos: usize) -> f64 {
    let mut consumers = layers.iter().filter(|l| l.inputs.contains(&pos));
    match (consumers.next(), consumers.next()) {
        (Some(c), None) => c.sparsity.ifmap_zero_fraction,
        _ => 0.0,
    }
}
