#!/bin/bash
# run_checks.sh <bundle dir> <fixture root>: on the GPU machine. Builds the JNI against the installed torch, then the
# golden suites on CUDA in float32 and float16, the 2B benchmark in both, and the peer (transformers) on the same
# random checkpoint. Logs under $OUT (default /tmp/out).
set -u
B=$(cd "$1" && pwd); FIX=$(cd "$2" && pwd); HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
T=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__))")
JNI=$B/djl/pytorch/2.7.1-cu128-linux-x86_64/0.36.0-libdjl_torch.so; mkdir -p $(dirname $JNI)
JNI_INCLUDE=$B/jni $HERE/build_jni.sh $T $JNI | tee $OUT/jni-build.log; [ -f $JNI ] || exit 2
# DJL: use the machine's libtorch, and look for the JNI under the version/flavour whose folder holds the one built above
export PYTORCH_LIBRARY_PATH=$T/lib PYTORCH_VERSION=2.7.1 PYTORCH_FLAVOR=cu128
J="$B/jre/bin/java -Xmx24g --add-modules jdk.incubator.vector -Dai.djl.offline=true -DDJL_CACHE_DIR=$B/djl -Dqwenvl.fixtures=$FIX"
CP="$B/classes:$B/test-classes:$B/lib/*"
$J -Dqwenvl.test.device=gpu -cp "$CP" io.github.qwenvl.testing.GoldenSuites > $OUT/goldens-f32.log 2>&1; tail -1 $OUT/goldens-f32.log
$J -Dqwenvl.test.device=gpu -Dqwenvl.test.precision=float16 -cp "$CP" io.github.qwenvl.testing.GoldenSuites > $OUT/goldens-f16.log 2>&1; tail -1 $OUT/goldens-f16.log
BENCH="-Dqwenvl.bench.device=gpu -Dqwenvl.bench.dir=/tmp/bench -Dqwenvl.bench.matmulDim=8192 -Dqwenvl.bench.weightCacheDir=none -Dqwenvl.bench.decodeTokens=64 -Dqwenvl.bench.results=$OUT/bench.jsonl"
(cd $FIX/.. && $J $BENCH -cp "$CP" io.github.qwenvl.bench.EngineBenchmark qwen2-vl-2b > $OUT/bench-f32.log 2>&1)
(cd $FIX/.. && $J $BENCH -Dqwenvl.bench.precision=float16 -cp "$CP" io.github.qwenvl.bench.EngineBenchmark qwen2-vl-2b > $OUT/bench-f16.log 2>&1)
python3 $HERE/peer_bench.py /tmp/bench/qwen2-vl-2b float32 > $OUT/peer.log 2>&1
python3 $HERE/peer_bench.py /tmp/bench/qwen2-vl-2b bfloat16 >> $OUT/peer.log 2>&1
