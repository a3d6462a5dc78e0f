// libFuzzer harness: PyTorch pipeline-order CSV. The first three bytes choose P (1-8), M (1-16)
// and V (1-4); the rest is the CSV. It reads or throws InputError, and what it reads is complete
// and valid (the reader validates), so it also builds a DAG and simulates or reports a deadlock.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "schedules/order_csv.h"
#include "sim/dag.h"
#include "sim/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const int P = 1 + data[0] % 8, M = 1 + data[1] % 16, V = 1 + data[2] % 4;
  const std::string text(reinterpret_cast<const char*>(data) + 3, size - 3);
  try {
    const ppsim::Schedule s = ppsim::read_order_csv(text, "fuzz.csv", P, M, V);
    const ppsim::Dag dag = ppsim::build_dag(s, ppsim::uniform_costs(s.stages(), 3, 2, 1, 1));
    ppsim::simulate(dag);
  } catch (const ppsim::InputError&) {  // DeadlockError included
  }
  return 0;
}
