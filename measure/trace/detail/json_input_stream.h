#pragma once
// A RapidJSON input stream over a trace file, plain or gzip (zlib's gzread reads both), through one
// fixed buffer: the reader sees characters one at a time and never the whole file, so a 1 GB trace
// is read in constant memory. Tell() is the offset in the (decompressed) JSON text, which is what
// error messages name.
#include <zlib.h>

#include <cstddef>
#include <string>
#include <vector>

namespace ppsim::trace::detail {

class JsonInputStream {
 public:
  using Ch = char;

  // Opens `path`; throws InputError when it cannot be opened.
  explicit JsonInputStream(const std::string& path, std::size_t buffer_bytes = 1 << 20);
  ~JsonInputStream();
  JsonInputStream(const JsonInputStream&) = delete;
  JsonInputStream& operator=(const JsonInputStream&) = delete;

  Ch Peek() const { return pos_ < end_ ? *pos_ : '\0'; }
  Ch Take() {
    if (pos_ == end_) return '\0';
    const Ch c = *pos_++;
    if (pos_ == end_) refill();
    return c;
  }
  std::size_t Tell() const { return consumed_ + static_cast<std::size_t>(pos_ - buffer_.data()); }

  // Only for in-situ parsing, which the trace reader does not use.
  Ch* PutBegin() { return nullptr; }
  void Put(Ch) {}
  void Flush() {}
  std::size_t PutEnd(Ch*) { return 0; }

  bool compressed() const { return compressed_; }
  // zlib's complaint about the compressed data ("" when none): a corrupt or truncated .gz.
  const std::string& decompression_error() const { return error_; }

 private:
  void refill();

  gzFile file_ = nullptr;
  std::vector<Ch> buffer_;
  const Ch* pos_ = nullptr;
  const Ch* end_ = nullptr;
  std::size_t consumed_ = 0;  // bytes before buffer_[0]
  bool compressed_ = false;
  std::string error_;
};

}  // namespace ppsim::trace::detail
