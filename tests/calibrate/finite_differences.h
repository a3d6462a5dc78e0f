#pragma once
// Central finite differences, for the tests that check analytic gradients (the CPU layers, the
// float64 references the GPU kernels are held to).
#include <Eigen/Core>
#include <functional>

namespace ppsim::test {

// d loss / d m(i) for every element of m by central differences of step h; m is restored.
template <class M>
M numeric_gradient(M& m, const std::function<double()>& loss, double h = 1e-6) {
  M g(m.rows(), m.cols());
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    const double keep = m.data()[i];
    m.data()[i] = keep + h;
    const double up = loss();
    m.data()[i] = keep - h;
    const double down = loss();
    m.data()[i] = keep;
    g.data()[i] = (up - down) / (2 * h);
  }
  return g;
}

}  // namespace ppsim::test
