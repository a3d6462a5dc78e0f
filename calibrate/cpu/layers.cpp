#include "calibrate/cpu/layers.h"

#include <cassert>
#include <cmath>
#include <limits>
#include <random>

#include <Eigen/Core>

namespace ppsim::cpu {
namespace {

constexpr double kNormEps = 1e-5;

template <class S>
Matrix<S> init_matrix(int rows, int cols, double stddev, std::mt19937_64& rng) {
  std::normal_distribution<double> dist(0.0, stddev);
  Matrix<S> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<S>(dist(rng));
  return m;
}

template <class S>
RowVector<S> init_vector(int n, double mean, double stddev, std::mt19937_64& rng) {
  std::normal_distribution<double> dist(mean, stddev);
  RowVector<S> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<S>(dist(rng));
  return v;
}

// Row-wise LayerNorm or RMSNorm. Keeps the normalized input and 1/std per row for backward.
template <class S>
Matrix<S> norm_forward(Norm kind, const Matrix<S>& x, const RowVector<S>& gain, const RowVector<S>& bias,
                       Matrix<S>& hat, RowVector<S>& rstd) {
  const Eigen::Index rows = x.rows(), cols = x.cols();
  hat.resize(rows, cols);
  rstd.resize(rows);
  for (Eigen::Index r = 0; r < rows; ++r) {
    auto xr = x.row(r);
    if (kind == Norm::LayerNorm) {
      const S mean = xr.mean();
      const S var = (xr.array() - mean).square().mean();
      rstd[r] = S(1) / std::sqrt(var + S(kNormEps));
      hat.row(r) = (xr.array() - mean) * rstd[r];
    } else {
      const S ms = xr.array().square().mean();
      rstd[r] = S(1) / std::sqrt(ms + S(kNormEps));
      hat.row(r) = xr * rstd[r];
    }
  }
  Matrix<S> y = hat.array().rowwise() * gain.array();
  if (kind == Norm::LayerNorm) y.array().rowwise() += bias.array();
  return y;
}

// Gradient w.r.t. the norm's input given the gradient at its output.
template <class S>
Matrix<S> norm_backward(Norm kind, const Matrix<S>& dy, const RowVector<S>& gain, const Matrix<S>& hat,
                        const RowVector<S>& rstd) {
  const Eigen::Index rows = dy.rows(), cols = dy.cols();
  Matrix<S> dhat = dy.array().rowwise() * gain.array();
  Matrix<S> dx(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r) {
    const S mean_dhat_hat = (dhat.row(r).array() * hat.row(r).array()).mean();
    if (kind == Norm::LayerNorm) {
      const S mean_dhat = dhat.row(r).mean();
      dx.row(r) = rstd[r] * (dhat.row(r).array() - mean_dhat - hat.row(r).array() * mean_dhat_hat);
    } else {
      dx.row(r) = rstd[r] * (dhat.row(r).array() - hat.row(r).array() * mean_dhat_hat);
    }
  }
  return dx;
}

template <class S>
void norm_weight_grads(Norm kind, const Matrix<S>& dy, const Matrix<S>& hat, RowVector<S>& dgain,
                       RowVector<S>& dbias) {
  dgain += (dy.array() * hat.array()).colwise().sum().matrix();
  if (kind == Norm::LayerNorm) dbias += dy.colwise().sum();
}

constexpr double kGeluC = 0.7978845608028654;  // sqrt(2 / pi)

template <class S>
S gelu(S u) {
  return S(0.5) * u * (S(1) + std::tanh(S(kGeluC) * (u + S(0.044715) * u * u * u)));
}
template <class S>
S gelu_grad(S u) {
  const S t = std::tanh(S(kGeluC) * (u + S(0.044715) * u * u * u));
  return S(0.5) * (S(1) + t) + S(0.5) * u * (S(1) - t * t) * S(kGeluC) * (S(1) + S(3 * 0.044715) * u * u);
}
template <class S>
S sigmoid(S u) { return S(1) / (S(1) + std::exp(-u)); }
template <class S>
S silu(S u) { return u * sigmoid(u); }
template <class S>
S silu_grad(S u) {
  const S s = sigmoid(u);
  return s * (S(1) + u * (S(1) - s));
}

template <class S>
void check_tokens(const Tokens& ids, int vocab) {
  for (auto id : ids) {
    assert(id >= 0 && id < vocab && "token id out of range");
    (void)id;
    (void)vocab;
  }
}

}  // namespace

int set_threads(int threads) {
  if (threads > 0) Eigen::setNbThreads(threads);
  return Eigen::nbThreads();
}

bool threads_supported() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

// ---------------------------------------------------------------------------------------------
// Embedding

template <class S>
EmbeddingWeights<S> EmbeddingWeights<S>::zeros_like(const EmbeddingWeights& w) {
  return {Matrix<S>::Zero(w.table.rows(), w.table.cols())};
}

template <class S>
EmbeddingT<S>::EmbeddingT(const ModelSpec& s, std::uint64_t seed) : spec(s) {
  std::mt19937_64 rng(seed);
  weights.table = init_matrix<S>(spec.vocab, spec.hidden, 1.0, rng);
}

template <class S>
Matrix<S> EmbeddingT<S>::forward(const Tokens& ids, EmbeddingStashT<S>& stash) const {
  check_tokens<S>(ids, spec.vocab);
  Matrix<S> x(static_cast<Eigen::Index>(ids.size()), spec.hidden);
  for (std::size_t t = 0; t < ids.size(); ++t) x.row(static_cast<Eigen::Index>(t)) = weights.table.row(ids[t]);
  stash.ids = ids;
  return x;
}

template <class S>
void EmbeddingT<S>::backward_input(const Matrix<S>& grad_out, EmbeddingStashT<S>& stash) const {
  assert(grad_out.rows() == static_cast<Eigen::Index>(stash.ids.size()));
  stash.grad_out = grad_out;
}

template <class S>
void EmbeddingT<S>::backward_weight(EmbeddingStashT<S>& stash, EmbeddingWeights<S>& grads) const {
  for (std::size_t t = 0; t < stash.ids.size(); ++t)
    grads.table.row(stash.ids[t]) += stash.grad_out.row(static_cast<Eigen::Index>(t));
  stash = {};
}

// ---------------------------------------------------------------------------------------------
// Block

template <class S>
BlockWeights<S> BlockWeights<S>::zeros_like(const BlockWeights& w) {
  auto z = [](const Matrix<S>& m) { return Matrix<S>::Zero(m.rows(), m.cols()).eval(); };
  auto zv = [](const RowVector<S>& v) { return RowVector<S>::Zero(v.size()).eval(); };
  return {z(w.wq), z(w.wk), z(w.wv), z(w.wo), z(w.w1), z(w.w2), z(w.w3),
          zv(w.norm1_gain), zv(w.norm1_bias), zv(w.norm2_gain), zv(w.norm2_bias)};
}

template <class S>
BlockT<S>::BlockT(const ModelSpec& s, int seq, std::uint64_t seed) : spec(s), sequence_length(seq) {
  assert(spec.hidden % spec.heads == 0 && spec.heads % spec.kv_heads == 0);
  std::mt19937_64 rng(seed);
  const int h = spec.hidden, kv = spec.kv_heads * spec.head_dim(), f = spec.ffn_hidden;
  const double sh = 1.0 / std::sqrt(double(h)), sf = 1.0 / std::sqrt(double(f));
  weights.wq = init_matrix<S>(h, h, sh, rng);
  weights.wk = init_matrix<S>(h, kv, sh, rng);
  weights.wv = init_matrix<S>(h, kv, sh, rng);
  weights.wo = init_matrix<S>(h, h, sh, rng);
  weights.w1 = init_matrix<S>(h, f, sh, rng);
  weights.w2 = init_matrix<S>(f, h, sf, rng);
  if (spec.activation == Activation::SwiGlu) weights.w3 = init_matrix<S>(h, f, sh, rng);
  // Gains near one and small biases, so the tests exercise them.
  weights.norm1_gain = init_vector<S>(h, 1.0, 0.1, rng);
  weights.norm2_gain = init_vector<S>(h, 1.0, 0.1, rng);
  if (spec.norm == Norm::LayerNorm) {
    weights.norm1_bias = init_vector<S>(h, 0.0, 0.1, rng);
    weights.norm2_bias = init_vector<S>(h, 0.0, 0.1, rng);
  }
}

template <class S>
Matrix<S> BlockT<S>::forward(const Matrix<S>& x, BlockStashT<S>& st) const {
  const int h = spec.hidden, d = spec.head_dim(), heads = spec.heads, group = spec.heads / spec.kv_heads;
  const int seq = sequence_length;
  assert(x.cols() == h && x.rows() % seq == 0);
  const Eigen::Index tokens = x.rows();
  const S scale = S(1) / std::sqrt(S(d));
  const auto& w = weights;

  st.x = x;
  st.n1 = norm_forward(spec.norm, x, w.norm1_gain, w.norm1_bias, st.norm1_hat, st.norm1_rstd);
  st.q.noalias() = st.n1 * w.wq;
  st.k.noalias() = st.n1 * w.wk;
  st.v.noalias() = st.n1 * w.wv;
  st.attn.resize(tokens, h);
  st.lse.resize(tokens, heads);
  Matrix<S> scores(seq, seq);
  for (Eigen::Index b = 0; b < tokens / seq; ++b) {
    for (int hd = 0; hd < heads; ++hd) {
      const int kvh = hd / group;
      auto q = st.q.block(b * seq, hd * d, seq, d);
      auto k = st.k.block(b * seq, kvh * d, seq, d);
      auto v = st.v.block(b * seq, kvh * d, seq, d);
      scores.noalias() = (q * k.transpose()) * scale;
      for (int i = 0; i < seq; ++i) {
        auto row = scores.row(i);
        const S m = row.head(i + 1).maxCoeff();
        row.head(i + 1) = (row.head(i + 1).array() - m).exp();
        const S sum = row.head(i + 1).sum();
        row.head(i + 1) /= sum;
        row.tail(seq - i - 1).setZero();
        st.lse(b * seq + i, hd) = m + std::log(sum);
      }
      st.attn.block(b * seq, hd * d, seq, d).noalias() = scores * v;
    }
  }
  st.x1 = x;
  st.x1.noalias() += st.attn * w.wo;
  st.n2 = norm_forward(spec.norm, st.x1, w.norm2_gain, w.norm2_bias, st.norm2_hat, st.norm2_rstd);
  st.u.noalias() = st.n2 * w.w1;
  if (spec.activation == Activation::Gelu) {
    st.g = st.u.unaryExpr([](S a) { return gelu(a); });
  } else {
    st.up.noalias() = st.n2 * w.w3;
    st.g = st.u.unaryExpr([](S a) { return silu(a); }).cwiseProduct(st.up);
  }
  Matrix<S> y = st.x1;
  y.noalias() += st.g * w.w2;
  return y;
}

template <class S>
Matrix<S> BlockT<S>::backward_input(const Matrix<S>& dy, BlockStashT<S>& st) const {
  const int d = spec.head_dim(), heads = spec.heads, group = spec.heads / spec.kv_heads;
  const int seq = sequence_length;
  const Eigen::Index tokens = dy.rows();
  assert(tokens == st.x.rows());
  const S scale = S(1) / std::sqrt(S(d));
  const auto& w = weights;

  // MLP.
  st.d_mlp_out = dy;
  Matrix<S> dg;
  dg.noalias() = dy * w.w2.transpose();
  Matrix<S> dn2;
  if (spec.activation == Activation::Gelu) {
    st.d_u = dg.cwiseProduct(st.u.unaryExpr([](S a) { return gelu_grad(a); }));
    dn2.noalias() = st.d_u * w.w1.transpose();
  } else {
    st.d_u = dg.cwiseProduct(st.up).cwiseProduct(st.u.unaryExpr([](S a) { return silu_grad(a); }));
    st.d_up = dg.cwiseProduct(st.u.unaryExpr([](S a) { return silu(a); }));
    dn2.noalias() = st.d_u * w.w1.transpose();
    dn2.noalias() += st.d_up * w.w3.transpose();
  }
  Matrix<S> dx1 = dy + norm_backward(spec.norm, dn2, w.norm2_gain, st.norm2_hat, st.norm2_rstd);
  st.d_n2 = std::move(dn2);

  // Attention: recompute each row's probabilities from q, k and the saved log-sum-exp.
  st.d_attn_out = dx1;
  Matrix<S> dattn;
  dattn.noalias() = dx1 * w.wo.transpose();
  st.d_q = Matrix<S>::Zero(tokens, st.q.cols());
  st.d_k = Matrix<S>::Zero(tokens, st.k.cols());
  st.d_v = Matrix<S>::Zero(tokens, st.v.cols());
  Matrix<S> p(seq, seq), dp(seq, seq);
  for (Eigen::Index b = 0; b < tokens / seq; ++b) {
    for (int hd = 0; hd < heads; ++hd) {
      const int kvh = hd / group;
      auto q = st.q.block(b * seq, hd * d, seq, d);
      auto k = st.k.block(b * seq, kvh * d, seq, d);
      auto v = st.v.block(b * seq, kvh * d, seq, d);
      auto o = st.attn.block(b * seq, hd * d, seq, d);
      auto dout = dattn.block(b * seq, hd * d, seq, d);
      p.noalias() = (q * k.transpose()) * scale;
      for (int i = 0; i < seq; ++i) {
        const S l = st.lse(b * seq + i, hd);
        p.row(i).head(i + 1) = (p.row(i).head(i + 1).array() - l).exp();
        p.row(i).tail(seq - i - 1).setZero();
      }
      st.d_v.block(b * seq, kvh * d, seq, d).noalias() += p.transpose() * dout;
      dp.noalias() = dout * v.transpose();
      // dS = P * (dP - rowsum(dO * O)); zero above the diagonal because P is.
      const auto delta = (dout.array() * o.array()).rowwise().sum().eval();
      p.array() *= (dp.array().colwise() - delta);
      st.d_q.block(b * seq, hd * d, seq, d).noalias() += (p * k) * scale;
      st.d_k.block(b * seq, kvh * d, seq, d).noalias() += (p.transpose() * q) * scale;
    }
  }
  Matrix<S> dn1;
  dn1.noalias() = st.d_q * w.wq.transpose();
  dn1.noalias() += st.d_k * w.wk.transpose();
  dn1.noalias() += st.d_v * w.wv.transpose();
  Matrix<S> dx = dx1 + norm_backward(spec.norm, dn1, w.norm1_gain, st.norm1_hat, st.norm1_rstd);
  st.d_n1 = std::move(dn1);
  return dx;
}

template <class S>
void BlockT<S>::backward_weight(BlockStashT<S>& st, BlockWeights<S>& gr) const {
  gr.wq.noalias() += st.n1.transpose() * st.d_q;
  gr.wk.noalias() += st.n1.transpose() * st.d_k;
  gr.wv.noalias() += st.n1.transpose() * st.d_v;
  gr.wo.noalias() += st.attn.transpose() * st.d_attn_out;
  gr.w1.noalias() += st.n2.transpose() * st.d_u;
  if (spec.activation == Activation::SwiGlu) gr.w3.noalias() += st.n2.transpose() * st.d_up;
  gr.w2.noalias() += st.g.transpose() * st.d_mlp_out;
  norm_weight_grads(spec.norm, st.d_n1, st.norm1_hat, gr.norm1_gain, gr.norm1_bias);
  norm_weight_grads(spec.norm, st.d_n2, st.norm2_hat, gr.norm2_gain, gr.norm2_bias);
  st = {};  // the micro-batch is done with this layer: free its activations
}

// ---------------------------------------------------------------------------------------------
// Head

template <class S>
HeadWeights<S> HeadWeights<S>::zeros_like(const HeadWeights& w) {
  return {RowVector<S>::Zero(w.norm_gain.size()), RowVector<S>::Zero(w.norm_bias.size()),
          Matrix<S>::Zero(w.w_out.rows(), w.w_out.cols())};
}

template <class S>
HeadT<S>::HeadT(const ModelSpec& s, std::uint64_t seed) : spec(s) {
  std::mt19937_64 rng(seed);
  weights.norm_gain = init_vector<S>(spec.hidden, 1.0, 0.1, rng);
  if (spec.norm == Norm::LayerNorm) weights.norm_bias = init_vector<S>(spec.hidden, 0.0, 0.1, rng);
  weights.w_out = init_matrix<S>(spec.vocab, spec.hidden, 1.0 / std::sqrt(double(spec.hidden)), rng);
}

template <class S>
S HeadT<S>::forward(const Matrix<S>& x, const Tokens& targets, HeadStashT<S>& st) const {
  assert(x.rows() == static_cast<Eigen::Index>(targets.size()));
  check_tokens<S>(targets, spec.vocab);
  st.x = x;
  st.targets = targets;
  st.n = norm_forward(spec.norm, x, weights.norm_gain, weights.norm_bias, st.norm_hat, st.norm_rstd);
  st.probs.noalias() = st.n * weights.w_out.transpose();
  double loss = 0;
  for (Eigen::Index t = 0; t < st.probs.rows(); ++t) {
    auto row = st.probs.row(t);
    const S m = row.maxCoeff();
    const S target_logit = row[targets[t]];
    row = (row.array() - m).exp();
    const S sum = row.sum();
    row /= sum;
    loss += double(m + std::log(sum) - target_logit);
  }
  return static_cast<S>(loss / double(st.probs.rows()));
}

template <class S>
Matrix<S> HeadT<S>::backward_input(HeadStashT<S>& st) const {
  const Eigen::Index tokens = st.probs.rows();
  st.d_logits = st.probs;
  for (Eigen::Index t = 0; t < tokens; ++t) st.d_logits(t, st.targets[t]) -= S(1);
  st.d_logits /= S(tokens);
  st.d_n.noalias() = st.d_logits * weights.w_out;
  return norm_backward(spec.norm, st.d_n, weights.norm_gain, st.norm_hat, st.norm_rstd);
}

template <class S>
void HeadT<S>::backward_weight(HeadStashT<S>& st, HeadWeights<S>& gr) const {
  gr.w_out.noalias() += st.d_logits.transpose() * st.n;
  norm_weight_grads(spec.norm, st.d_n, st.norm_hat, gr.norm_gain, gr.norm_bias);
  st = {};
}

// ---------------------------------------------------------------------------------------------

Tokens random_tokens(int count, int vocab, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dist(0, vocab - 1);
  Tokens ids(static_cast<std::size_t>(count));
  for (auto& id : ids) id = dist(rng);
  return ids;
}

template <class S>
Matrix<S> random_matrix(int rows, int cols, double stddev, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return init_matrix<S>(rows, cols, stddev, rng);
}

PassFlops embedding_flops(const ModelSpec&, std::int64_t) { return {}; }  // a gather: memory-bound

PassFlops block_flops(const ModelSpec& spec, std::int64_t tokens, int seq) {
  const double t = double(tokens), h = spec.hidden, f = spec.ffn_hidden;
  const double kv = double(spec.kv_heads) * spec.head_dim();
  const double mats = spec.activation == Activation::SwiGlu ? 3 : 2;
  const double gemm = 2 * t * (h * h + 2 * h * kv + h * h + mats * h * f);
  const double attn = 2 * t * double(seq) * h;  // QK^T and PV, causal half: 2 * (2 t s h) / 2
  return {gemm + attn, gemm + 2.5 * attn, gemm};
}

PassFlops head_flops(const ModelSpec& spec, std::int64_t tokens) {
  const double g = 2.0 * double(tokens) * spec.hidden * spec.vocab;
  return {g, g, g};
}

template struct EmbeddingWeights<float>;
template struct EmbeddingWeights<double>;
template class EmbeddingT<float>;
template class EmbeddingT<double>;
template struct BlockWeights<float>;
template struct BlockWeights<double>;
template class BlockT<float>;
template class BlockT<double>;
template struct HeadWeights<float>;
template struct HeadWeights<double>;
template class HeadT<float>;
template class HeadT<double>;
template Matrix<float> random_matrix<float>(int, int, double, std::uint64_t);
template Matrix<double> random_matrix<double>(int, int, double, std::uint64_t);

}  // namespace ppsim::cpu
