#include "measure/trace/detail/json_input_stream.h"

#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace ppsim::trace::detail {

JsonInputStream::JsonInputStream(const std::string& path, std::size_t buffer_bytes) : buffer_(buffer_bytes) {
  file_ = gzopen(path.c_str(), "rb");
  if (!file_) throw InputError(path + ": cannot open the trace (" + std::strerror(errno) + ")");
  gzbuffer(file_, 256 * 1024);  // zlib's own input buffer; ours holds the decompressed text
  pos_ = end_ = buffer_.data();
  refill();
  compressed_ = gzdirect(file_) == 0;
}

JsonInputStream::~JsonInputStream() {
  if (file_) gzclose(file_);
}

void JsonInputStream::refill() {
  consumed_ += static_cast<std::size_t>(end_ - buffer_.data());
  const int n = gzread(file_, buffer_.data(), static_cast<unsigned>(buffer_.size()));
  if (n < 0 || (n == 0 && error_.empty())) {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    // Z_BUF_ERROR at the end is a .gz cut short; Z_DATA_ERROR a corrupt one.
    if (code != Z_OK && code != Z_STREAM_END) {
      error_ = message ? message : "decompression failed";
      // zlib puts the path in front; the caller names the file itself.
      if (const std::size_t colon = error_.rfind(": "); colon != std::string::npos) error_ = error_.substr(colon + 2);
    }
  }
  pos_ = buffer_.data();
  end_ = pos_ + (n > 0 ? n : 0);
}

}  // namespace ppsim::trace::detail
