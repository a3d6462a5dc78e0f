#pragma once
// A text file compiled into the binary (shipped models, hardware, the default example), so that
// ppsim finds it from any directory.
namespace ppsim {

struct EmbeddedFile {
  const char* name;  // file name without ".yaml", e.g. "gpt3-175b"
  const char* text;  // the whole file
};

}  // namespace ppsim
