// The cuDNN functions ppsim calls, forwarding to libcudnn opened on first use (runtime_library.h).
// Signatures as in cudnn_graph.h (cuDNN 9's graph / backend API).
#include <cudnn_graph.h>

#include "calibrate/cuda/runtime_library.h"

namespace {

template <class Fn>
Fn dnn(const char* name) {
  return reinterpret_cast<Fn>(ppsim::cuda::runtime_symbol(ppsim::cuda::RuntimeLibrary::Cudnn, name));
}

}  // namespace

#define PPSIM_DNN(name) static const auto fn = dnn<decltype(&::name)>(#name)

extern "C" {

size_t cudnnGetVersion(void) {
  PPSIM_DNN(cudnnGetVersion);
  return fn();
}

const char* cudnnGetErrorString(cudnnStatus_t status) {
  if (!ppsim::cuda::runtime_library_available(ppsim::cuda::RuntimeLibrary::Cudnn)) return "cuDNN is not loaded";
  PPSIM_DNN(cudnnGetErrorString);
  return fn(status);
}

void cudnnGetLastErrorString(char* message, size_t max_size) {
  PPSIM_DNN(cudnnGetLastErrorString);
  fn(message, max_size);
}

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  PPSIM_DNN(cudnnCreate);
  return fn(handle);
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  PPSIM_DNN(cudnnDestroy);
  return fn(handle);
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream) {
  PPSIM_DNN(cudnnSetStream);
  return fn(handle, stream);
}

cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t type, cudnnBackendDescriptor_t* descriptor) {
  PPSIM_DNN(cudnnBackendCreateDescriptor);
  return fn(type, descriptor);
}

cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t descriptor) {
  PPSIM_DNN(cudnnBackendDestroyDescriptor);
  return fn(descriptor);
}

cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t descriptor) {
  PPSIM_DNN(cudnnBackendFinalize);
  return fn(descriptor);
}

cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor, cudnnBackendAttributeName_t name,
                                       cudnnBackendAttributeType_t type, int64_t count, const void* elements) {
  PPSIM_DNN(cudnnBackendSetAttribute);
  return fn(descriptor, name, type, count, elements);
}

cudnnStatus_t cudnnBackendGetAttribute(cudnnBackendDescriptor_t const descriptor, cudnnBackendAttributeName_t name,
                                       cudnnBackendAttributeType_t type, int64_t requested, int64_t* count,
                                       void* elements) {
  PPSIM_DNN(cudnnBackendGetAttribute);
  return fn(descriptor, name, type, requested, count, elements);
}

cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle, cudnnBackendDescriptor_t plan,
                                  cudnnBackendDescriptor_t variant_pack) {
  PPSIM_DNN(cudnnBackendExecute);
  return fn(handle, plan, variant_pack);
}

}  // extern "C"
