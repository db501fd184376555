//! Imported models equal the hand-written traces describing the same
//! networks (parsed by the trace reader).

use super::{alexnet_like, assert_same_as_trace, import, small_mixed_model};

#[test]
fn alexnet_like_equals_its_hand_written_trace() {
    let hand = r#"
        [network]
        name = "test"
        batch = 1
        input = [3, 227, 227]

        [[layer]]
        name = "conv1"
        kind = "conv"
        filters = 96
        kernel = 11
        stride = 4
        weight_density = 0.75

        [[layer]]
        name = "norm1"
        kind = "host"
        op = "LRN"
        output = [96, 55, 55]
        host_reads = 290400
        host_ops = 2032800

        [[layer]]
        name = "pool1"
        kind = "maxpool"
        kernel = 3
        stride = 2

        [[layer]]
        name = "conv2"
        kind = "conv"
        filters = 256
        kernel = 5
        padding = 2
        groups = 2

        [[layer]]
        name = "pool2"
        kind = "maxpool"
        kernel = 3
        stride = 2

        [[layer]]
        name = "conv3"
        kind = "conv"
        filters = 64
        kernel = 3
        padding = 1

        [[layer]]
        name = "pool3"
        kind = "maxpool"
        kernel = 3
        stride = 2

        [[layer]]
        name = "fc6"
        kind = "fc"
        outputs = 512

        [[layer]]
        name = "fc7"
        kind = "fc"
        outputs = 10
        relu = false

        [[layer]]
        name = "prob"
        kind = "host"
        op = "Softmax"
        output = [10, 1, 1]
        host_reads = 10
        host_ops = 30
    "#;
    assert_same_as_trace(&import(alexnet_like()), hand);
}

#[test]
fn mixed_model_equals_its_hand_written_trace() {
    let hand = r#"
        [network]
        name = "test"
        batch = 2
        input = [3, 9, 9]

        [[layer]]
        name = "c1"
        kind = "conv"
        filters = 4
        kernel = 3
        padding = 1
        weight_density = 0.6666666666666666

        [[layer]]
        name = "c2"
        kind = "conv"
        filters = 4
        kernel = 1
        groups = 2
        relu = false
        weight_density = 0.875

        [[layer]]
        name = "cat"
        kind = "concat"
        inputs = ["c1", "c2"]

        [[layer]]
        name = "p"
        kind = "maxpool"
        kernel = 2
        stride = 2
        ceil_mode = true

        [[layer]]
        name = "fc"
        kind = "fc"
        outputs = 6
        relu = false
    "#;
    assert_same_as_trace(&import(small_mixed_model()), hand);
}
