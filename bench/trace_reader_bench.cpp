// Google Benchmark of `ppsim trace`'s streaming reader: bytes of Kineto JSON per second, plain and
// gzip, on a generated trace shaped like a real one (mostly CPU ops with argument lists, one
// kernel and its launch call per 20 CPU ops), beside RapidJSON's SAX parser reading the plain file
// through its own FileReadStream into a handler that does nothing (the parser's ceiling).
#include <benchmark/benchmark.h>
#include <rapidjson/filereadstream.h>
#include <rapidjson/reader.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "measure/trace/op_patterns.h"
#include "measure/trace/trace_reader.h"

namespace ppsim::trace {
namespace {

namespace fs = std::filesystem;

std::string us(std::int64_t ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ns / 1000), static_cast<long long>(ns % 1000));
  return buf;
}

// About 64 MB of JSON, written once per process (plain and .gz beside it).
struct Files {
  std::string plain, gz;
  std::size_t bytes = 0;
  Files() {
    const fs::path dir = fs::temp_directory_path() / ("ppsim_trace_bench_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    plain = (dir / "t.json").string();
    gz = (dir / "t.json.gz").string();
    std::string text = "{\"schemaVersion\": 1, \"distributedInfo\": {\"rank\": 0, \"world_size\": 1},\n\"traceEvents\": [\n"
                       "{\"ph\": \"X\", \"cat\": \"user_annotation\", \"name\": \"ProfilerStep#1\", \"pid\": 1, \"tid\": 1, "
                       "\"ts\": 1700000000000000, \"dur\": 1000000}";
    const std::int64_t base = 1'700'000'000'000'000'000;
    for (int i = 0; text.size() < (64u << 20); ++i) {
      const std::int64_t t = base + static_cast<std::int64_t>(i) * 1000;
      text += ",\n{\"ph\": \"X\", \"cat\": \"cpu_op\", \"name\": \"aten::addmm\", \"pid\": 1, \"tid\": 1, \"ts\": " + us(t) +
              ", \"dur\": 0.800, \"args\": {\"External id\": " + std::to_string(i) +
              ", \"Input Dims\": [[4096, 1024], [1024, 4096], []], \"Input type\": [\"c10::BFloat16\", \"c10::BFloat16\", "
              "\"Scalar\"], \"Sequence number\": " + std::to_string(i) + "}}";
      if (i % 20 == 0)
        text += ",\n{\"ph\": \"X\", \"cat\": \"cuda_runtime\", \"name\": \"cudaLaunchKernel\", \"pid\": 1, \"tid\": 1, \"ts\": " +
                us(t + 100) + ", \"dur\": 0.300, \"args\": {\"correlation\": " + std::to_string(i) + "}},\n"
                "{\"ph\": \"X\", \"cat\": \"kernel\", \"name\": \"sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64\", "
                "\"pid\": 0, \"tid\": 7, \"ts\": " + us(t + 500) + ", \"dur\": 0.400, \"args\": {\"stream\": 7, \"correlation\": " +
                std::to_string(i) + ", \"grid\": [132, 1, 1], \"block\": [384, 1, 1]}}";
    }
    text += "\n]}\n";
    bytes = text.size();
    std::ofstream(plain, std::ios::binary) << text;
    gzFile f = gzopen(gz.c_str(), "wb6");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
  }
  ~Files() { fs::remove_all(fs::path(plain).parent_path()); }
};

const Files& files() {
  static const Files f;
  return f;
}

void BM_ReadRankTrace(benchmark::State& state, bool compressed) {
  const Files& f = files();
  const OpPatterns patterns = shipped_patterns();
  std::size_t kept = 0;
  for (auto _ : state) {
    const RankTrace t = read_rank_trace(compressed ? f.gz : f.plain, patterns);
    kept = t.gpu.size() + t.calls.size();
    benchmark::DoNotOptimize(kept);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(f.bytes));
  state.counters["kept_events"] = static_cast<double>(kept);
}
BENCHMARK_CAPTURE(BM_ReadRankTrace, plain, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReadRankTrace, gzip, true)->Unit(benchmark::kMillisecond);

struct NullHandler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, NullHandler> {
  bool Default() { return true; }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return true; }
};

void BM_RapidJsonNullHandler(benchmark::State& state) {
  const Files& f = files();
  std::string buffer(1 << 20, '\0');
  for (auto _ : state) {
    std::FILE* file = std::fopen(f.plain.c_str(), "rb");
    rapidjson::FileReadStream in(file, buffer.data(), buffer.size());
    NullHandler h;
    rapidjson::Reader reader;
    const auto ok = reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(in, h);
    benchmark::DoNotOptimize(ok);
    std::fclose(file);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(f.bytes));
}
BENCHMARK(BM_RapidJsonNullHandler)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ppsim::trace
