#!/bin/bash
# build_jni.sh <torch dir> <out .so>: DJL's PyTorch JNI (libdjl_torch.so) compiled against the libtorch of a Python
# torch install (its headers and libs), for a machine whose PyTorch is not the 2.7.1 that DJL 0.36's shipped JNI was
# built for (the shipped one loads there but reads tensors with the wrong layout; see README.md).
# Sources: $SRC (default ./djl-native): DJL's engines/pytorch/pytorch-native/src/main/native/*.{cc,h}, DJL's
# api/src/main/native/djl/utils.h under $SRC/include/djl/, and the JNI header written by jnih.py under $SRC/include/.
set -u
T=$1; OUTSO=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${SRC:-$HERE/djl-native}
JNI_INCLUDE=${JNI_INCLUDE:-$HERE/jni}   # jni.h and linux/jni_md.h of any JDK
ABI=$(python3 -c "import torch;print(int(torch._C._GLIBCXX_USE_CXX11_ABI))" 2>/dev/null || echo 1)
OBJ=${OBJ_DIR:-$(mktemp -d)}; mkdir -p $OBJ
FLAGS="-O2 -fPIC -std=${JNI_STD:-c++17} -D_GLIBCXX_USE_CXX11_ABI=$ABI -w -I$SRC -I$SRC/include -I$JNI_INCLUDE -I$JNI_INCLUDE/linux -I$T/include -I$T/include/torch/csrc/api/include"
for f in $SRC/*.cc; do o=$OBJ/$(basename $f .cc).o; [ -f $o -a $o -nt $f ] || echo $f; done | xargs -r -P ${JOBS:-$(nproc)} -I{} sh -c 'g++ '"$FLAGS"' -c {} -o '"$OBJ"'/$(basename {} .cc).o 2> '"$OBJ"'/$(basename {} .cc).err || { echo "COMPILE FAILED {}"; head -c 3000 '"$OBJ"'/$(basename {} .cc).err; }'
LIBS="-L$T/lib -ltorch -ltorch_cpu -lc10"
[ -f $T/lib/libtorch_cuda.so ] && LIBS="$LIBS -ltorch_cuda -lc10_cuda"
g++ -shared -o $OUTSO $OBJ/*.o $LIBS -Wl,-rpath,$T/lib && echo "built $OUTSO"
