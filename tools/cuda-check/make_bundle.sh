#!/bin/bash
# make_bundle.sh <out dir>: what the GPU machine needs beside the repository (it has Python/PyTorch but no JDK):
# a jlink'ed JRE, the engine's runtime and test class path (without DJL's own native jars), the compiled classes,
# and the JDK's JNI headers for build_jni.sh. Run from the repository root after `mvn -o -q -pl qwen-vl-core test-compile`.
set -eu
OUT=$1; mkdir -p $OUT/lib
JDK=${JAVA_HOME:-$(dirname $(dirname $(readlink -f $(which javac))))}
mvn -o -q -pl qwen-vl-core dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
$JDK/bin/jlink --add-modules java.base,java.desktop,java.logging,java.management,jdk.unsupported,jdk.incubator.vector,java.xml \
  --strip-debug --no-header-files --no-man-pages --output $OUT/jre
rm -f $OUT/jre/lib/server/classes*.jsa
for j in $(tr ':' '\n' < qwen-vl-core/target/cp.txt | grep -v "pytorch-native-cpu\|pytorch-jni\|byte-buddy"); do cp $j $OUT/lib/; done
cp -r qwen-vl-core/target/classes $OUT/classes && cp -r qwen-vl-core/target/test-classes $OUT/test-classes
mkdir -p $OUT/jni && cp -r $JDK/include/jni.h $JDK/include/linux $OUT/jni/
# the JNI header of DJL 0.36's PyTorchLibrary, from its class file (what `javac -h` would write from the source)
TMP=$(mktemp -d); unzip -q -o $(tr ':' '\n' < qwen-vl-core/target/cp.txt | grep pytorch-engine) 'ai/djl/pytorch/jni/PyTorchLibrary.class' -d $TMP
$JDK/bin/javap -p -s -cp $TMP ai.djl.pytorch.jni.PyTorchLibrary | python3 tools/cuda-check/jnih.py ai.djl.pytorch.jni.PyTorchLibrary \
  > $OUT/jni/ai_djl_pytorch_jni_PyTorchLibrary.h
echo "bundle in $OUT ($(du -sh $OUT | cut -f1)); xz it to carry it"
