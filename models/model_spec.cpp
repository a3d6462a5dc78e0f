#include "models/model_spec.h"

namespace ppsim {

const char* to_string(DType d) {
  switch (d) {
    case DType::BF16: return "bf16";
    case DType::FP16: return "fp16";
    case DType::FP32: return "fp32";
  }
  return "?";
}

}  // namespace ppsim
