#!/usr/bin/env bash
# Runs a fixed set of eyesim commands over the six shipped networks (and the
# shipped trained model) into OUT, so that two builds can be compared byte for
# byte: `tools/identical-outputs.sh BIN_A /tmp/a; tools/identical-outputs.sh
# BIN_B /tmp/b; diff -r /tmp/a /tmp/b`. Used to show that a refactor changes
# no output file. Timing lines (`bench`) are not part of it.
set -euo pipefail
bin=$(realpath "$1"); out=$2
rm -rf "$out"; mkdir -p "$out"
cd "$(dirname "$0")/.."
root=$PWD
run() { (cd "$out" && "$bin" "$@" >>"$out/stdout.txt" 2>>"$out/stderr.txt") || echo "exit $? : $*" >>"$out/stdout.txt"; }
nets="alexnet vgg16 googlenet squeezenet mobilenet resnet50"
for n in $nets; do
  for hw in eyeriss-v1 eyeriss-isca16-256pe tiny; do
    run estimate --net "$n" --hw "$hw" --rank --out "est-$n-$hw"
  done
  run estimate --net "$n" --objective chip --out "est-chip-$n"
  run show --net "$n" --csv
  run prune --net "$n" --out "prune-$n"
done
run estimate --net alexnet --mapping chip --out est-alexnet-mapping-chip
# Cycle-level: every layer of the smaller networks, a sample of the large ones.
for n in alexnet squeezenet mobilenet; do run crosscheck --net "$n" --out "xc-$n"; done
run crosscheck --net googlenet --layers conv2_3x3_reduce,inception_3a_1x1 --out xc-googlenet
run simulate --net resnet50 --layers conv1,res2a_branch2a,res3b_branch2a --out sim-resnet50
run simulate --net vgg16 --layers conv5_1 --out sim-vgg16
run run -q --out run-alexnet
run run -q --hw tiny --out run-alexnet-tiny
run sweep --net alexnet --vary glb.size_kib=32,64,108 --vary array.rows=6,12 --out sweep
run sweep --simulate --net alexnet --hw tiny --vary glb.size_kib=6,8 --vary pe.filter_spad_words=32,64 --out sweep-sim --no-plots
# Fault injection: each kind on each on-chip link, the third transfer, so
# the paths a fault takes through FIFOs and spads are compared too (a data
# fault exits 1 naming the first wrong ofmap value).
for c in filter-gin ifmap-gin psum-gin gon local-link; do
  for k in drop dup flip tag delay; do
    run simulate --hw tiny --layers conv3 --batch 1 --threads 1 --inject-fault "$k:$c:3" --out "fault-$k-$c"
  done
done
run import "$root/traces/fmnist/fmnist-cnn.onnx" -o fmnist.toml
run run -q --net "$root/traces/fmnist/fmnist-cnn.onnx" --out run-fmnist
# Drop what names the machine (absolute paths) before comparing.
sed -i "s#$root#ROOT#g; s#$out#OUT#g" "$out/stdout.txt" "$out/stderr.txt"
echo "outputs in $out: $(find "$out" -type f | wc -l) files"
