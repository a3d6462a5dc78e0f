#include "calibrate/reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

namespace ppsim::ref {

RefMatrix matmul(const RefMatrix& a, const RefMatrix& b) {
  assert(a.cols() == b.rows());
  RefMatrix c(a.rows(), b.cols());
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < b.cols(); ++j) {
      double s = 0;
      for (Eigen::Index p = 0; p < a.cols(); ++p) s += a(i, p) * b(p, j);
      c(i, j) = s;
    }
  return c;
}

RefMatrix norm(Norm kind, const RefMatrix& x, const RefVector& gain, const RefVector& bias) {
  RefMatrix y(x.rows(), x.cols());
  const double n = double(x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    double mean = 0, sq = 0;
    if (kind == Norm::LayerNorm) {
      for (Eigen::Index c = 0; c < x.cols(); ++c) mean += x(r, c);
      mean /= n;
    }
    for (Eigen::Index c = 0; c < x.cols(); ++c) sq += (x(r, c) - mean) * (x(r, c) - mean);
    const double rstd = 1.0 / std::sqrt(sq / n + 1e-5);
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
      y(r, c) = (x(r, c) - mean) * rstd * gain[c];
      if (kind == Norm::LayerNorm) y(r, c) += bias[c];
    }
  }
  return y;
}

RefMatrix gelu(const RefMatrix& u) {
  RefMatrix g(u.rows(), u.cols());
  for (Eigen::Index i = 0; i < u.size(); ++i) {
    const double a = u.data()[i];
    g.data()[i] = 0.5 * a * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (a + 0.044715 * a * a * a)));
  }
  return g;
}

RefMatrix swiglu(const RefMatrix& gate, const RefMatrix& up) {
  RefMatrix g(gate.rows(), gate.cols());
  for (Eigen::Index i = 0; i < gate.size(); ++i) {
    const double a = gate.data()[i];
    g.data()[i] = a / (1.0 + std::exp(-a)) * up.data()[i];
  }
  return g;
}

RefMatrix causal_attention(const RefMatrix& q, const RefMatrix& k, const RefMatrix& v, int heads, int kv_heads,
                           int seq) {
  const int d = static_cast<int>(q.cols()) / heads;
  const int group = heads / kv_heads;
  const double scale = 1.0 / std::sqrt(double(d));
  RefMatrix o = RefMatrix::Zero(q.rows(), q.cols());
  std::vector<double> s(static_cast<std::size_t>(seq));
  for (Eigen::Index b = 0; b < q.rows() / seq; ++b)
    for (int h = 0; h < heads; ++h) {
      const int g = h / group;
      for (int i = 0; i < seq; ++i) {
        double mx = -std::numeric_limits<double>::infinity();
        for (int j = 0; j <= i; ++j) {
          double dot = 0;
          for (int c = 0; c < d; ++c) dot += q(b * seq + i, h * d + c) * k(b * seq + j, g * d + c);
          s[j] = dot * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (int j = 0; j <= i; ++j)
          for (int c = 0; c < d; ++c) o(b * seq + i, h * d + c) += s[j] / sum * v(b * seq + j, g * d + c);
      }
    }
  return o;
}

double softmax_cross_entropy(const RefMatrix& logits, const cpu::Tokens& targets) {
  double loss = 0;
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    double mx = -std::numeric_limits<double>::infinity();
    for (Eigen::Index c = 0; c < logits.cols(); ++c) mx = std::max(mx, logits(r, c));
    double sum = 0;
    for (Eigen::Index c = 0; c < logits.cols(); ++c) sum += std::exp(logits(r, c) - mx);
    loss += mx + std::log(sum) - logits(r, targets[static_cast<std::size_t>(r)]);
  }
  return loss / double(logits.rows());
}

NormGrads norm_backward(Norm kind, const RefMatrix& x, const RefVector& gain, const RefMatrix& dy) {
  const Eigen::Index rows = x.rows(), cols = x.cols();
  const double n = double(cols);
  NormGrads g{RefMatrix(rows, cols), RefVector::Zero(cols), RefVector::Zero(cols)};
  std::vector<double> xhat(static_cast<std::size_t>(cols)), dxhat(static_cast<std::size_t>(cols));
  for (Eigen::Index r = 0; r < rows; ++r) {
    double mean = 0, sq = 0;
    if (kind == Norm::LayerNorm) {
      for (Eigen::Index c = 0; c < cols; ++c) mean += x(r, c);
      mean /= n;
    }
    for (Eigen::Index c = 0; c < cols; ++c) sq += (x(r, c) - mean) * (x(r, c) - mean);
    const double rstd = 1.0 / std::sqrt(sq / n + 1e-5);
    double mean_dxhat = 0, mean_dxhat_xhat = 0;
    for (Eigen::Index c = 0; c < cols; ++c) {
      const auto i = static_cast<std::size_t>(c);
      xhat[i] = (x(r, c) - mean) * rstd;
      dxhat[i] = dy(r, c) * gain[c];
      mean_dxhat += dxhat[i] / n;
      mean_dxhat_xhat += dxhat[i] * xhat[i] / n;
      g.dgain[c] += dy(r, c) * xhat[i];
      if (kind == Norm::LayerNorm) g.dbias[c] += dy(r, c);
    }
    // d xhat_i / d x_j = rstd (δij − [LayerNorm] 1/n) − xhat_i xhat_j / n.
    for (Eigen::Index c = 0; c < cols; ++c) {
      const auto i = static_cast<std::size_t>(c);
      g.dx(r, c) = rstd * (dxhat[i] - (kind == Norm::LayerNorm ? mean_dxhat : 0.0) - xhat[i] * mean_dxhat_xhat);
    }
  }
  return g;
}

RefMatrix gelu_backward(const RefMatrix& u, const RefMatrix& dg) {
  const double k = std::sqrt(2.0 / M_PI), c = 0.044715;
  RefMatrix du(u.rows(), u.cols());
  for (Eigen::Index i = 0; i < u.size(); ++i) {
    const double a = u.data()[i];
    const double t = std::tanh(k * (a + c * a * a * a));
    du.data()[i] = dg.data()[i] * (0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * k * (1.0 + 3.0 * c * a * a));
  }
  return du;
}

SwigluGrads swiglu_backward(const RefMatrix& gate, const RefMatrix& up, const RefMatrix& dg) {
  SwigluGrads g{RefMatrix(gate.rows(), gate.cols()), RefMatrix(gate.rows(), gate.cols())};
  for (Eigen::Index i = 0; i < gate.size(); ++i) {
    const double a = gate.data()[i], s = 1.0 / (1.0 + std::exp(-a));
    g.dgate.data()[i] = dg.data()[i] * up.data()[i] * s * (1.0 + a * (1.0 - s));
    g.dup.data()[i] = dg.data()[i] * a * s;
  }
  return g;
}

RefMatrix softmax_cross_entropy_backward(const RefMatrix& logits, const cpu::Tokens& targets) {
  RefMatrix d(logits.rows(), logits.cols());
  const double rows = double(logits.rows());
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    double mx = -std::numeric_limits<double>::infinity();
    for (Eigen::Index c = 0; c < logits.cols(); ++c) mx = std::max(mx, logits(r, c));
    double sum = 0;
    for (Eigen::Index c = 0; c < logits.cols(); ++c) sum += std::exp(logits(r, c) - mx);
    for (Eigen::Index c = 0; c < logits.cols(); ++c) d(r, c) = std::exp(logits(r, c) - mx) / sum / rows;
    d(r, targets[static_cast<std::size_t>(r)]) -= 1.0 / rows;
  }
  return d;
}

RefMatrix gather_rows(const RefMatrix& table, const cpu::Tokens& ids) {
  RefMatrix out(static_cast<Eigen::Index>(ids.size()), table.cols());
  for (std::size_t t = 0; t < ids.size(); ++t)
    for (Eigen::Index c = 0; c < table.cols(); ++c) out(static_cast<Eigen::Index>(t), c) = table(ids[t], c);
  return out;
}

RefMatrix scatter_add_rows(const RefMatrix& dy, const cpu::Tokens& ids, Eigen::Index table_rows) {
  RefMatrix d = RefMatrix::Zero(table_rows, dy.cols());
  for (std::size_t t = 0; t < ids.size(); ++t)
    for (Eigen::Index c = 0; c < dy.cols(); ++c) d(ids[t], c) += dy(static_cast<Eigen::Index>(t), c);
  return d;
}

RefMatrix embedding_forward(const cpu::EmbeddingWeights<double>& w, const cpu::Tokens& ids) {
  RefMatrix x(static_cast<Eigen::Index>(ids.size()), w.table.cols());
  for (std::size_t t = 0; t < ids.size(); ++t)
    for (Eigen::Index c = 0; c < w.table.cols(); ++c) x(static_cast<Eigen::Index>(t), c) = w.table(ids[t], c);
  return x;
}

namespace {
RefMatrix add(const RefMatrix& a, const RefMatrix& b) {
  RefMatrix c(a.rows(), a.cols());
  for (Eigen::Index i = 0; i < a.size(); ++i) c.data()[i] = a.data()[i] + b.data()[i];
  return c;
}
RefMatrix transpose(const RefMatrix& a) {
  RefMatrix t(a.cols(), a.rows());
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < a.cols(); ++j) t(j, i) = a(i, j);
  return t;
}
}  // namespace

RefMatrix block_forward(const ModelSpec& spec, const cpu::BlockWeights<double>& w, const RefMatrix& x, int seq) {
  const RefMatrix n1 = norm(spec.norm, x, w.norm1_gain, w.norm1_bias);
  const RefMatrix o =
      causal_attention(matmul(n1, w.wq), matmul(n1, w.wk), matmul(n1, w.wv), spec.heads, spec.kv_heads, seq);
  const RefMatrix x1 = add(x, matmul(o, w.wo));
  const RefMatrix n2 = norm(spec.norm, x1, w.norm2_gain, w.norm2_bias);
  const RefMatrix g = spec.activation == Activation::Gelu ? gelu(matmul(n2, w.w1))
                                                          : swiglu(matmul(n2, w.w1), matmul(n2, w.w3));
  return add(x1, matmul(g, w.w2));
}

double head_forward(const ModelSpec& spec, const cpu::HeadWeights<double>& w, const RefMatrix& x,
                    const cpu::Tokens& targets) {
  const RefMatrix n = norm(spec.norm, x, w.norm_gain, w.norm_bias);
  return softmax_cross_entropy(matmul(n, transpose(w.w_out)), targets);
}

double relative_error(const RefMatrix& a, const RefMatrix& b, double floor) {
  assert(a.rows() == b.rows() && a.cols() == b.cols());
  double scale = floor, worst = 0;
  for (Eigen::Index i = 0; i < b.size(); ++i) scale = std::max(scale, std::abs(b.data()[i]));
  for (Eigen::Index i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a.data()[i] - b.data()[i]));
  return worst / (scale + 1e-300);
}

}  // namespace ppsim::ref
