//! Bad traces: one test per kind of error, each asserting the message that
//! names file, line/column, layer and key.

use eyesim::workload::{from_toml_str, to_trace_toml, LayerKind};

const BASE: &str = r#"[network]
name = "t"
batch = 2
input = [3, 32, 32]

[[layer]]
name = "c1"
kind = "conv"
filters = 8
kernel = 3
padding = 1

[[layer]]
name = "c2"
kind = "conv"
filters = 8
kernel = 3
padding = 1
ifmap_zero_fraction = 0.5

[[layer]]
name = "p1"
kind = "maxpool"
kernel = 2
stride = 2
"#;

fn err(text: &str) -> String {
    from_toml_str(text, "t.toml").unwrap_err().to_string()
}

fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test bug: `{from}`");
    BASE.replacen(from, to, 1)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn base_is_valid_and_defaults_apply() {
    let n = from_toml_str(BASE, "t.toml").unwrap();
    assert_eq!(n.layers[2].output.to_string(), "8x16x16");
    // The single consumer's ifmap zero fraction is the default ofmap zero fraction.
    assert_eq!(n.layers[0].sparsity.ofmap_zero_fraction, 0.5);
    assert_eq!(n.layers[1].sparsity.ofmap_zero_fraction, 0.0);
    assert!(n.layers[0].relu && !n.layers[2].relu);
    assert_eq!(n.layers[0].precision_bits, 16);
}

#[test]
fn unknown_layer_key_suggests_nearest() {
    let t = with(
        "filters = 8\nkernel = 3\npadding = 1\n\n",
        "filterz = 8\nkernel = 3\npadding = 1\n\n",
    );
    let line = line_of(&t, "filterz");
    assert_eq!(
        err(&t),
        format!("t.toml:{line}:1: layer `c1`: unknown key `filterz`; did you mean `filters`?")
    );
}

#[test]
fn unknown_network_key_suggests_nearest() {
    let t = with("batch = 2", "batches = 2");
    assert_eq!(
        err(&t),
        "t.toml:3:1: [network]: unknown key `batches`; did you mean `batch`?"
    );
}

#[test]
fn wrong_type_names_layer_and_key() {
    let t = with("filters = 8", "filters = \"8\"");
    let line = line_of(&t, "filters = \"8\"");
    let e = err(&t);
    assert!(
        e.starts_with(&format!(
            "t.toml:{line}:11: layer `c1`: `filters` has the wrong type"
        )),
        "{e}"
    );
}

#[test]
fn bad_kernel_list_is_rejected() {
    let t = with("kernel = 3", "kernel = [3, 3, 3]");
    assert!(
        err(&t).contains("layer `c1`: `kernel` = [3, 3, 3]: give one number or [height, width]"),
        "{}",
        err(&t)
    );
}

#[test]
fn unknown_input_layer_suggests_nearest() {
    let t = with("name = \"c2\"\n", "name = \"c2\"\ninputs = [\"c11\"]\n");
    let line = line_of(&t, "inputs");
    assert_eq!(
        err(&t),
        format!("t.toml:{line}:1: layer `c2`: unknown input layer `c11`; did you mean `c1`?")
    );
}

#[test]
fn cycle_names_its_layers() {
    let t = with("name = \"c1\"\n", "name = \"c1\"\ninputs = [\"c2\"]\n");
    let e = err(&t);
    assert!(
        e.ends_with("the layer graph has a cycle through `c1` -> `c2`"),
        "{e}"
    );
    assert!(
        e.starts_with(&format!("t.toml:{}:", line_of(&t, "inputs"))),
        "{e}"
    );
}

#[test]
fn self_loop_is_a_cycle() {
    let t = with("name = \"c2\"\n", "name = \"c2\"\ninputs = [\"c2\"]\n");
    assert!(err(&t).contains("cycle through `c2`"), "{}", err(&t));
}

#[test]
fn concat_with_different_heights_names_both_inputs() {
    let t = format!(
        "{BASE}\n[[layer]]\nname = \"cat\"\nkind = \"concat\"\ninputs = [\"c2\", \"p1\"]\n"
    );
    let line = line_of(&t, "inputs = [\"c2\", \"p1\"]");
    assert_eq!(
        err(&t),
        format!("t.toml:{line}:1: layer `cat`: input `c2` is 8x32x32 but input `p1` is 8x16x16: heights and widths must match to concatenate channels")
    );
}

#[test]
fn add_with_different_shapes_names_both_inputs() {
    let t = format!("{BASE}\n[[layer]]\nname = \"c3\"\nkind = \"conv\"\ninputs = [\"c1\"]\nfilters = 4\nkernel = 1\n\n[[layer]]\nname = \"sum\"\nkind = \"add\"\ninputs = [\"c2\", \"c3\"]\n");
    let e = err(&t);
    assert!(e.contains("layer `sum`: input `c2` is 8x32x32 but input `c3` is 4x32x32: shapes must be equal to add"), "{e}");
    // A matching add is accepted and concat sums channels.
    let ok = format!("{BASE}\n[[layer]]\nname = \"sum\"\nkind = \"add\"\ninputs = [\"c1\", \"c2\"]\n\n[[layer]]\nname = \"cat\"\nkind = \"concat\"\ninputs = [\"c1\", \"sum\"]\n");
    let n = from_toml_str(&ok, "ok.toml").unwrap();
    assert_eq!(n.layer("cat").unwrap().output.to_string(), "16x32x32");
}

#[test]
fn groups_not_dividing_channels_is_rejected() {
    let t = with("padding = 1\nifmap", "padding = 1\ngroups = 3\nifmap");
    let line = line_of(&t, "groups");
    assert_eq!(
        err(&t),
        format!("t.toml:{line}:1: layer `c2`: `groups` = 3 does not divide the 8 input channels and the 8 filters")
    );
}

#[test]
fn kernel_larger_than_padded_input_is_rejected() {
    let t = with(
        "kernel = 3\npadding = 1\n\n",
        "kernel = 35\npadding = 1\n\n",
    );
    let line = line_of(&t, "kernel = 35");
    assert_eq!(
        err(&t),
        format!("t.toml:{line}:1: layer `c1`: `kernel` = 35x35 (extent 35x35 with dilation) is larger than the padded input 34x34")
    );
}

#[test]
fn fraction_outside_unit_interval_is_rejected() {
    let t = with("ifmap_zero_fraction = 0.5", "ifmap_zero_fraction = 1.5");
    let line = line_of(&t, "ifmap_zero_fraction");
    assert_eq!(
        err(&t),
        format!("t.toml:{line}:1: layer `c2`: `ifmap_zero_fraction` = 1.5 is outside [0, 1]")
    );
    let t = with("ifmap_zero_fraction = 0.5", "weight_density = -0.1");
    assert!(
        err(&t).contains("`weight_density` = -0.1 is outside [0, 1]"),
        "{}",
        err(&t)
    );
}

#[test]
fn zero_batch_is_rejected() {
    let t = with("batch = 2", "batch = 0");
    assert_eq!(
        err(&t),
        "t.toml:3:1: [network]: `batch` = 0: a batch needs at least one image"
    );
}

#[test]
fn missing_keys_are_reported() {
    assert!(err(&with("filters = 8\n", "")).ends_with("layer `c1`: missing required key `filters`"));
    assert!(err(&with("batch = 2\n", "")).ends_with("[network]: missing required key `batch`"));
}

#[test]
fn duplicate_names_are_rejected() {
    let t = with("name = \"c2\"", "name = \"c1\"");
    assert!(
        err(&t).ends_with("layer name `c1` is already used by an earlier layer"),
        "{}",
        err(&t)
    );
}

#[test]
fn key_of_another_kind_is_rejected() {
    let t = with("stride = 2", "stride = 2\noutputs = 10");
    assert!(
        err(&t).contains("layer `p1`: `outputs` does not apply to a `maxpool` layer"),
        "{}",
        err(&t)
    );
}

#[test]
fn unknown_kind_suggests_nearest() {
    let t = with("kind = \"maxpool\"", "kind = \"maxpol\"");
    assert!(
        err(&t).contains("`kind` = \"maxpol\" is not a layer kind; did you mean `maxpool`?"),
        "{}",
        err(&t)
    );
}

#[test]
fn add_with_one_input_is_rejected() {
    let t = format!("{BASE}\n[[layer]]\nname = \"s\"\nkind = \"add\"\n");
    assert!(
        err(&t)
            .contains("layer `s`: `inputs` has 1 entry: a `add` layer needs at least two inputs"),
        "{}",
        err(&t)
    );
}

#[test]
fn syntax_error_has_position() {
    let e = err("[network]\nname = \n");
    assert!(
        e.starts_with("t.toml:2:") && e.contains("TOML syntax error"),
        "{e}"
    );
}

#[test]
fn out_of_order_layers_are_sorted_and_round_trip() {
    let t = r#"[network]
batch = 1
input = [4, 9, 9]

[[layer]]
name = "b"
kind = "conv"
inputs = ["a"]
filters = 2
kernel = [3, 1]
stride = [2, 1]
padding = [1, 0]

[[layer]]
name = "a"
kind = "avgpool"
inputs = ["input"]
kernel = 3
stride = 2
ceil_mode = true
"#;
    let n = from_toml_str(t, "dir/o.toml").unwrap();
    assert_eq!(n.name, "o");
    assert_eq!(n.layers[0].name, "a");
    assert_eq!(n.layers[1].inputs, vec![0]);
    // Ceil mode: (9 - 3) / 2 = 3 exactly, so no extra padding; output 4x4.
    assert_eq!(n.layers[0].output.to_string(), "4x4x4");
    assert_eq!(n.layers[1].output.to_string(), "2x2x4");
    assert_eq!(from_toml_str(&to_trace_toml(&n), "x.toml").unwrap(), n);
}

#[test]
fn ceil_mode_is_normalized_into_padding() {
    let t = "[network]\nbatch = 1\ninput = [1, 112, 112]\n[[layer]]\nname = \"p\"\nkind = \"maxpool\"\nkernel = 3\nstride = 2\nceil_mode = true\n";
    let n = from_toml_str(t, "c.toml").unwrap();
    let LayerKind::Pool(p) = n.layers[0].kind else {
        panic!()
    };
    assert_eq!(p.padding, [0, 1, 0, 1]);
    assert_eq!(n.layers[0].output.h, 56);
    let emitted = to_trace_toml(&n);
    assert!(
        emitted.contains("padding = [0, 1, 0, 1]") && !emitted.contains("ceil_mode"),
        "{emitted}"
    );
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "", "x", "[network]\nbatch = 1\ninput = [1, 1]", "[[layer]]\nname = 1",
        "[network]\nbatch = 1\ninput = [1, 4, 4]\n[[layer]]\nname = \"a\"\nkind = \"conv\"\nfilters = 1\nkernel = 1\npadding = 4294967295\nstride = 1",
        "[network]\nbatch = 1\ninput = [1, 4, 4]\n[[layer]]\nname = \"a\"\nkind = \"maxpool\"\nkernel = 4294967295\nceil_mode = true",
        "[network]\nbatch = 1\ninput = [4294967295, 1, 1]\n[[layer]]\nname = \"a\"\nkind = \"concat\"\ninputs = [\"input\", \"input\"]",
        "[network]\nbatch = 1\ninput = [1, 4, 4]\n[[layer]]\nname = \"a\"\nkind = \"fc\"\ninputs = []\noutputs = 2",
        "[network]\nbatch = 1\ninput = [1, 4, 4]\n[[layer]]\nname = \"input\"\nkind = \"fc\"\noutputs = 2",
        "[network]\nbatch = 1\ninput = [1, 4, 4]\n[[layer]]\nname = \"a b\"\nkind = \"fc\"\noutputs = 2",
        "[network]\nbatch = 1\ninput = [1, 4, 4]\n[[layer]]\nname = \"a\"\nkind = \"avgpool\"\nglobal = true\nkernel = 2",
        "layer = 3", "[[network]]\nbatch = 1",
    ];
    for s in samples {
        assert!(from_toml_str(s, "g.toml").is_err(), "{s:?}");
    }
}

#[test]
fn every_error_of_a_trace_is_reported_in_file_order() {
    let text = BASE
        .replacen("batch = 2", "batch = 0", 1)
        .replacen("filters = 8", "filterz = 8", 1)
        .replacen("kernel = 3", "kernel = \"3\"", 1)
        .replacen("ifmap_zero_fraction = 0.5", "ifmap_zero_fraction = 1.5", 1)
        .replacen("kind = \"maxpool\"", "kind = \"maxpol\"", 1);
    let msg = err(&text);
    let lines: Vec<&str> = msg.lines().collect();
    let expect = [
        "t.toml:3:1: [network]: `batch` = 0",
        "t.toml:9:1: layer `c1`: unknown key `filterz`; did you mean `filters`?",
        "t.toml:10:10: layer `c1`: `kernel` has the wrong type",
        "t.toml:19:1: layer `c2`: `ifmap_zero_fraction` = 1.5 is outside [0, 1]",
        "t.toml:23:1: layer `p1`: `kind` = \"maxpol\" is not a layer kind",
    ];
    assert_eq!(lines.len(), expect.len(), "{msg}");
    for (l, want) in lines.iter().zip(expect) {
        assert!(l.starts_with(want), "{l}\n  expected {want}");
    }
}

#[test]
fn network_names_must_be_safe_file_names() {
    for bad in ["../../x", "a/b", "", ".hidden", "a\\\\b"] {
        let e = err(&with("name = \"t\"", &format!("name = \"{bad}\"")));
        assert!(
            e.starts_with("t.toml:2:1: [network]: `name` = ") && e.contains("output folders"),
            "{bad}: {e}"
        );
    }
    let n = from_toml_str(&with("name = \"t\"", "name = \"my net 2\""), "t.toml").unwrap();
    assert_eq!(n.name, "my net 2");
}
