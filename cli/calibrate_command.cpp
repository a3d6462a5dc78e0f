// `ppsim calibrate`: options, then backend (cpu or cuda) -> profile -> summary. All logic lives in
// calibrate/; this file only reads flags, picks the device and writes the result.
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <unistd.h>

#include "calibrate/backends.h"
#include "calibrate/calibration.h"
#include "calibrate/cpu/cpu_calibrator.h"
#include "calibrate/mpi/mpi_session.h"
#include "models/profile.h"
#include "models/model_loader.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "base/error.h"
#include "base/time.h"

namespace ppsim::cli {
namespace {

struct CalibrateOptions {
  std::string model = "tiny";
  int micro_batch_size = 1;
  int sequence_length = 0;  // 0: by device
  std::string dtype = "bf16";
  std::string device;       // empty: cuda if a GPU is visible, else cpu
  std::string gpu_list;
  std::vector<int> gpus;
  int repeats = 0;          // 0: by device
  int threads = 1;
  std::string out = "profile.yaml";
  bool no_transfers = false;
  std::string sms;          // cuda: SM partition to run on: N SMs, or 1/P (each of P ranks' share); empty: whole GPU
  int partitions = 1;       // with sms: partitions timed at once
  std::string attention = "auto";  // cuda: cudnn | own (auto: cuDNN where it runs)
  std::string max_memory;   // empty: what is free
};

// --sms: "N" (SMs) or "1/P" (the partition each of P ranks gets); sets options.sms or .share_of.
void parse_sms(const std::string& text, CalibrationOptions& c) {
  const auto bad = [&] {
    return InputError("--sms: '" + text + "' (expected a number of SMs, or 1/P for the share of each of P ranks)");
  };
  try {
    std::size_t used = 0;
    if (text.rfind("1/", 0) == 0) {
      c.share_of = std::stoi(text.substr(2), &used);
      if (used != text.size() - 2 || c.share_of < 1) throw bad();
    } else {
      c.sms = std::stoi(text, &used);
      if (used != text.size() || c.sms < 0) throw bad();
    }
  } catch (const std::logic_error&) {  // stoi: not a number, or out of range
    throw bad();
  }
}

int calibrate_on(const CalibrateOptions& o, mpi::Session& session) {
  const auto started = std::chrono::steady_clock::now();
  const mpi::World& world = session.world();
  const bool lead = world.rank == 0;  // the process that reports
  std::string device = o.device;
  if (device.empty()) {
    std::string why;
    const int n = visible_gpu_count(why);
    device = n > 0 ? "cuda" : "cpu";
    if (lead && n > 0)
      std::cerr << "ppsim calibrate: " << n << " GPU(s) visible, calibrating on cuda (--device cpu for the CPU)\n";
    else if (lead)
      std::cerr << "ppsim calibrate: no GPU (" << why << "), calibrating on the CPU\n";
  }
  if (device != "cpu" && device != "cuda") throw InputError("--device: '" + device + "' (expected cuda or cpu)");

  CalibrationOptions c;
  c.model = load_model(o.model);
  c.micro_batch_size = o.micro_batch_size;
  c.sequence_length = o.sequence_length > 0 ? o.sequence_length : (device == "cuda" ? 4096 : 128);
  if (o.sequence_length < 0) throw InputError("--sequence-length must be positive");
  c.dtype = parse_dtype(o.dtype, "--dtype");
  c.repeats = o.repeats > 0 ? o.repeats : (device == "cuda" ? 20 : 10);
  if (o.repeats < 0) throw InputError("--repeats must be positive");
  c.warmup = device == "cuda" ? 3 : 2;
  if (o.threads < 1) throw InputError("--threads must be at least 1");
  c.threads = o.threads;
  c.gpus = o.gpus;
  if (!o.sms.empty()) parse_sms(o.sms, c);
  const bool partitioned = c.sms > 0 || c.share_of > 0;
  if (partitioned && device != "cuda") throw InputError("--sms: only with --device cuda (it partitions a GPU's SMs)");
  if (partitioned && world.size > 1) throw InputError("--sms: not under mpirun (it calibrates one GPU's partition)");
  if (o.partitions < 1) throw InputError("--partitions must be at least 1");
  if (o.partitions > 1 && !partitioned) throw InputError("--partitions: only with --sms (it runs that many SM partitions at once)");
  c.partitions = o.partitions;
  if (o.attention != "auto" && o.attention != "cudnn" && o.attention != "own")
    throw InputError("--attention: '" + o.attention + "' (expected cudnn or own)");
  if (o.attention != "auto" && device != "cuda") throw InputError("--attention: only with --device cuda");
  c.attention = o.attention;
  c.measure_transfers = !o.no_transfers;
  if (!o.max_memory.empty()) c.max_memory_bytes = parse_bytes(o.max_memory, "--max-memory");
  if (device == "cuda") c.max_transfer_bytes = std::int64_t{1} << 30;

  std::optional<TransferProfile> inter_node;
  if (world.size > 1) {
    if (lead)
      std::cerr << "ppsim calibrate: " << world.size << " processes under mpirun: transfers between rank 0 and rank 1"
                << (c.measure_transfers ? "" : " skipped (--no-transfers)") << ", layers on rank 0 (" << world.host
                << ")\n";
    inter_node = mpi::measure_inter_node(world, device, c);
    if (!lead) {  // the others wait for rank 0 to finish, then leave quietly
      session.finish();
      return 0;
    }
  }

  ProgressBar bar(stderr, ::isatty(::fileno(stderr)) != 0);
  c.progress = [&bar](double f, const std::string& what) { bar.update(f, what); };
  Profile p = device == "cuda" ? calibrate_cuda_backend(c) : calibrate_cpu(c);
  bar.finish();
  p.calibration_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  p.inter_node = inter_node;
  save_profile(p, o.out);  // a temporary file renamed at the end: no partial profile on failure
  std::cout << summary_table(p) << "\nwrote " << o.out << "\n";
  std::cout.flush();
  session.finish();
  return 0;
}

// Under `mpirun -n N` every process runs this with the same flags: ranks 0 and 1 first measure the
// transfers between them (calibrate/mpi/mpi_session.h), then rank 0 alone times the layers, writes
// the profile and prints the summary. Any error on any rank ends the whole job (MPI_Abort).
int calibrate(const CalibrateOptions& o) {
  mpi::Session session;  // MPI_Init only when a launcher started more than one process
  const mpi::World& world = session.world();
  try {
    return calibrate_on(o, session);
  } catch (const std::exception& e) {
    if (world.size > 1) session.abort(std::string(dynamic_cast<const InputError*>(&e) ? "error: " : "failed: ") + e.what());
    throw;
  }
}

}  // namespace

int run_calibrate(int argc, char** argv) {
  CalibrateOptions o;
  po::options_description desc(
      "ppsim calibrate [options]\n\nRuns the layers of a model (forward, input gradient, weight gradient) and the "
      "transfers between devices on this machine and writes a profile for `ppsim simulate` (profile: key).\n\n"
      "options");
  desc.add_options()
      ("help,h", "show this help")
      ("model", po::value(&o.model)->value_name("NAME|PATH"), "shipped model name or model YAML (default tiny)")
      ("micro-batch-size", po::value(&o.micro_batch_size)->value_name("N"), "sequences per micro-batch (default 1)")
      ("sequence-length", po::value(&o.sequence_length)->value_name("S"), "tokens per sequence (default 128 on cpu, 4096 on cuda)")
      ("dtype", po::value(&o.dtype)->value_name("bf16|fp16|fp32"), "precision (default bf16; the CPU computes in fp32 and records that)")
      ("device", po::value(&o.device)->value_name("cuda|cpu"), "backend (default: cuda if a GPU is visible, else cpu)")
      ("gpus", po::value(&o.gpu_list)->value_name("0,1,..."), "GPUs to use (default: all visible)")
      ("repeats", po::value(&o.repeats)->value_name("K"), "timed runs per region (default 10 on cpu, 20 on cuda)")
      ("threads", po::value(&o.threads)->value_name("T"), "cpu: threads for the layer kernels (default 1: one rank per thread)")
      ("no-transfers", po::bool_switch(&o.no_transfers), "skip the transfer sweep")
      ("sms", po::value(&o.sms)->value_name("N|1/P"), "cuda: run the layers on a partition of N SMs (a green context), "
       "or with 1/P on the partition each of P ranks gets (the driver's split, as `ppsim measure --share-gpu` makes "
       "it for P ranks), and time device-local copies as transfers (default: whole GPU)")
      ("partitions", po::value(&o.partitions)->value_name("K"), "with --sms: time the layers on K such partitions at "
       "once, as K ranks sharing the GPU run (contending for its memory and L2), and merge them (default 1)")
      ("attention", po::value(&o.attention)->value_name("cudnn|own"), "cuda: the block's fused attention: cuDNN's "
       "(graph API, opened at run time) or the in-house kernel (default: cuDNN where it is installed and supports the "
       "shape, else the in-house kernel; the profile records which)")
      ("out,o", po::value(&o.out)->value_name("PATH"), "profile to write (default profile.yaml)")
      ("max-memory", po::value(&o.max_memory)->value_name("BYTES"), "refuse a calibration estimated to need more memory "
       "than this, e.g. 16GiB (default: 90 % of the host's available memory; on a GPU, its free memory)");
  po::variables_map vm;
  auto check = [&](const po::variables_map&) {
    if (!o.gpu_list.empty()) o.gpus = parse_gpu_list(o.gpu_list);
  };
  if (auto stop = parse_command_line("calibrate", argc, argv, desc, {}, {}, vm, check)) return *stop;
  return run_reporting_errors("calibrate", [&] { return calibrate(o); });
}

}  // namespace ppsim::cli
