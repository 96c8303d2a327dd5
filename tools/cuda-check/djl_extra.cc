// JNI functions DJL 0.36's Java side calls that no stored DJL source version here defines (written for this build).
#include "ai_djl_pytorch_jni_PyTorchLibrary.h"
#include "djl_pytorch_jni_exception.h"
#include "djl_pytorch_utils.h"

JNIEXPORT jboolean JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchIsContiguous(JNIEnv* env, jobject, jlong h) {
  API_BEGIN()
  return reinterpret_cast<torch::Tensor*>(h)->is_contiguous();
  API_END_RETURN()
}

JNIEXPORT jlong JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchToContiguous(JNIEnv* env, jobject, jlong h) {
  API_BEGIN()
  const auto* r = new torch::Tensor(reinterpret_cast<torch::Tensor*>(h)->contiguous());
  return reinterpret_cast<uintptr_t>(r);
  API_END_RETURN()
}

JNIEXPORT jobject JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchDirectByteBuffer(JNIEnv* env, jobject, jlong h) {
  API_BEGIN()
  auto* t = reinterpret_cast<torch::Tensor*>(h);
  return env->NewDirectByteBuffer(t->data_ptr(), static_cast<jlong>(t->nbytes()));
  API_END_RETURN()
}

JNIEXPORT jlong JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchFlatten(
    JNIEnv* env, jobject, jlong h, jlong start, jlong end) {
  API_BEGIN()
  const auto* r = new torch::Tensor(reinterpret_cast<torch::Tensor*>(h)->flatten(start, end));
  return reinterpret_cast<uintptr_t>(r);
  API_END_RETURN()
}

// the index vector built by torchIndexInit / torchIndexAppend*: get, put, delete
JNIEXPORT jlong JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchIndexAdvGet(
    JNIEnv* env, jobject, jlong h, jlong index) {
  API_BEGIN()
  auto* idx = reinterpret_cast<std::vector<torch::indexing::TensorIndex>*>(index);
  const auto* r = new torch::Tensor(reinterpret_cast<torch::Tensor*>(h)->index(*idx));
  return reinterpret_cast<uintptr_t>(r);
  API_END_RETURN()
}

JNIEXPORT void JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchIndexAdvPut(
    JNIEnv* env, jobject, jlong h, jlong index, jlong value) {
  API_BEGIN()
  auto* idx = reinterpret_cast<std::vector<torch::indexing::TensorIndex>*>(index);
  reinterpret_cast<torch::Tensor*>(h)->index_put_(*idx, *reinterpret_cast<torch::Tensor*>(value));
  API_END()
}

JNIEXPORT void JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchDeleteIndex(JNIEnv* env, jobject, jlong index) {
  API_BEGIN()
  delete reinterpret_cast<std::vector<torch::indexing::TensorIndex>*>(index);
  API_END()
}
