// cuDNN's fused attention through the backend descriptor API (see cudnn_attention.h).
// NOT YET RUN ON A GPU.
//
// Both graphs are built op for op as cudnn-frontend's composite SDPA nodes build them (v1.x,
// scaled_dot_product_flash_attention.h, without dropout, bias or padding): cuDNN's fused flash
// attention engines match that pattern, so the order of the ops and the data types of the
// intermediate tensors matter, not only the mathematics. Intermediates are virtual float tensors
// except where noted; the matmul that consumes a probability tensor takes it in bf16.
#include "calibrate/cuda/cudnn_attention.h"

#include <cudnn_graph.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "calibrate/cuda/attention.h"
#include "calibrate/cuda/check.h"
#include "calibrate/cuda/runtime_library.h"

namespace ppsim::cuda {
namespace {

// A cuDNN call that failed: its name, cuDNN's status and its last error message.
[[noreturn]] void cudnn_fail(const char* call, cudnnStatus_t status, const char* file, int line) {
  char last[512] = "";
  cudnnGetLastErrorString(last, sizeof last);
  fail(call, std::string(cudnnGetErrorString(status)) + (last[0] ? std::string(": ") + last : std::string()), file,
       line);
}

#define PPSIM_CUDNN_CHECK(call)                                                              \
  do {                                                                                       \
    const cudnnStatus_t ppsim_st_ = (call);                                                  \
    if (ppsim_st_ != CUDNN_STATUS_SUCCESS) cudnn_fail(#call, ppsim_st_, __FILE__, __LINE__); \
  } while (0)

// One backend descriptor, destroyed with the object.
class Desc {
 public:
  Desc() = default;
  explicit Desc(cudnnBackendDescriptorType_t type) { PPSIM_CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d_)); }
  ~Desc() {
    if (d_) cudnnBackendDestroyDescriptor(d_);
  }
  Desc(Desc&& o) noexcept : d_(o.d_) { o.d_ = nullptr; }
  Desc& operator=(Desc&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;

  cudnnBackendDescriptor_t get() const { return d_; }
  template <class T>
  Desc& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, const T& value) {
    PPSIM_CUDNN_CHECK(cudnnBackendSetAttribute(d_, name, type, 1, &value));
    return *this;
  }
  Desc& set_desc(cudnnBackendAttributeName_t name, const Desc& other) {
    const cudnnBackendDescriptor_t o = other.get();
    PPSIM_CUDNN_CHECK(cudnnBackendSetAttribute(d_, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &o));
    return *this;
  }
  Desc& set_int64s(cudnnBackendAttributeName_t name, const std::vector<std::int64_t>& values) {
    PPSIM_CUDNN_CHECK(
        cudnnBackendSetAttribute(d_, name, CUDNN_TYPE_INT64, static_cast<std::int64_t>(values.size()), values.data()));
    return *this;
  }
  Desc& finalize() {
    PPSIM_CUDNN_CHECK(cudnnBackendFinalize(d_));
    return *this;
  }

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};

using Dims = std::vector<std::int64_t>;

// The tensors and operations of one graph, in the order they are added; tensors are numbered
// (their unique ids) as they are created.
class GraphBuilder {
 public:
  // A tensor in device memory (or, `by_value`, a host scalar passed at execution).
  int tensor(cudnnDataType_t type, const Dims& dims, const Dims& strides, bool by_value = false) {
    return add_tensor(type, dims, strides, false, by_value);
  }
  // An intermediate the fused kernel keeps on chip.
  int virtual_tensor(cudnnDataType_t type, const Dims& dims, const Dims& strides) {
    return add_tensor(type, dims, strides, true, false);
  }
  int scalar() { return tensor(CUDNN_DATA_FLOAT, {1, 1, 1, 1}, {1, 1, 1, 1}, true); }

  // y = mode(x[, b[, t]]) computed in `precision`. GEN_INDEX takes `axis`; BINARY_SELECT picks
  // x where t is true, else b.
  void pointwise(cudnnPointwiseMode_t mode, int x, int b, int t, int y, cudnnDataType_t precision = CUDNN_DATA_FLOAT,
                 std::int64_t axis = -1) {
    Desc pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    pw.set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, mode);
    pw.set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, precision);
    if (axis >= 0) pw.set(CUDNN_ATTR_POINTWISE_AXIS, CUDNN_TYPE_INT64, axis);
    pw.finalize();
    Desc op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw);
    op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, at(x));
    op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, at(y));
    const float one = 1.f;
    op.set(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1, CUDNN_TYPE_FLOAT, one);
    op.set(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2, CUDNN_TYPE_FLOAT, one);
    if (b >= 0) op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, at(b));
    if (t >= 0) op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_TDESC, at(t));
    op.finalize();
    keep(std::move(pw));
    ops_.push_back(std::move(op));
  }
  void unary(cudnnPointwiseMode_t mode, int x, int y) { pointwise(mode, x, -1, -1, y); }
  void binary(cudnnPointwiseMode_t mode, int x, int b, int y) { pointwise(mode, x, b, -1, y); }

  // c = a · b over the last two dimensions, batched over the first two (b's head dimension may be
  // a divisor of a's: grouped-query attention), accumulated in float.
  void matmul(int a, int b, int c) {
    Desc mm(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    mm.set(CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, CUDNN_DATA_FLOAT).finalize();
    Desc op(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    op.set_desc(CUDNN_ATTR_OPERATION_MATMUL_ADESC, at(a));
    op.set_desc(CUDNN_ATTR_OPERATION_MATMUL_BDESC, at(b));
    op.set_desc(CUDNN_ATTR_OPERATION_MATMUL_CDESC, at(c));
    op.set_desc(CUDNN_ATTR_OPERATION_MATMUL_DESC, mm);
    op.finalize();
    keep(std::move(mm));
    ops_.push_back(std::move(op));
  }

  // y = reduce(x) over the dimensions where y has size 1.
  void reduction(cudnnReduceTensorOp_t mode, int x, int y) {
    Desc red(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    red.set(CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, mode);
    red.set(CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, CUDNN_DATA_FLOAT);
    red.finalize();
    Desc op(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
    op.set_desc(CUDNN_ATTR_OPERATION_REDUCTION_XDESC, at(x));
    op.set_desc(CUDNN_ATTR_OPERATION_REDUCTION_YDESC, at(y));
    op.set_desc(CUDNN_ATTR_OPERATION_REDUCTION_DESC, red);
    op.finalize();
    keep(std::move(red));
    ops_.push_back(std::move(op));
  }

  // y is x seen with other dimensions and strides (here: a transposed view).
  void reshape(int x, int y) {
    Desc op(CUDNN_BACKEND_OPERATION_RESHAPE_DESCRIPTOR);
    op.set_desc(CUDNN_ATTR_OPERATION_RESHAPE_XDESC, at(x));
    op.set_desc(CUDNN_ATTR_OPERATION_RESHAPE_YDESC, at(y));
    op.finalize();
    ops_.push_back(std::move(op));
  }

  // y = select(mask, x, -inf) with mask = row index >= column index: the causal mask, as
  // cudnn-frontend's top-left diagonal band mask with right bound 0 builds it.
  int causal_mask(int x, const Dims& dims, const Dims& strides, int neg_inf) {
    const int row = virtual_tensor(CUDNN_DATA_INT32, dims, strides);
    unary_gen_index(x, row, 2);
    const int col = virtual_tensor(CUDNN_DATA_INT32, dims, strides);
    unary_gen_index(x, col, 3);
    const int keep_mask = virtual_tensor(CUDNN_DATA_BOOLEAN, dims, strides);
    pointwise(CUDNN_POINTWISE_CMP_GE, row, col, -1, keep_mask, CUDNN_DATA_BOOLEAN);
    const int y = virtual_tensor(CUDNN_DATA_FLOAT, dims, strides);
    pointwise(CUDNN_POINTWISE_BINARY_SELECT, x, neg_inf, keep_mask, y);
    return y;
  }

  // The finalized operation graph of everything added so far.
  Desc graph(cudnnHandle_t handle) const {
    std::vector<cudnnBackendDescriptor_t> ops;
    for (const Desc& d : ops_) ops.push_back(d.get());
    Desc g(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    PPSIM_CUDNN_CHECK(cudnnBackendSetAttribute(g.get(), CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                               static_cast<std::int64_t>(ops.size()), ops.data()));
    g.set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, handle);
    g.finalize();
    return g;
  }

 private:
  int add_tensor(cudnnDataType_t type, const Dims& dims, const Dims& strides, bool is_virtual, bool by_value) {
    const std::int64_t uid = static_cast<std::int64_t>(tensors_.size()) + 1;
    Desc t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    t.set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, type);
    t.set_int64s(CUDNN_ATTR_TENSOR_DIMENSIONS, dims);
    t.set_int64s(CUDNN_ATTR_TENSOR_STRIDES, strides);
    t.set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, uid);
    t.set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, std::int64_t{16});
    t.set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, is_virtual);
    if (by_value) t.set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, true);
    t.finalize();
    tensors_.push_back(std::move(t));
    return static_cast<int>(uid);
  }
  void unary_gen_index(int x, int y, std::int64_t axis) {
    pointwise(CUDNN_POINTWISE_GEN_INDEX, x, -1, -1, y, CUDNN_DATA_FLOAT, axis);
  }
  const Desc& at(int uid) const { return tensors_.at(static_cast<std::size_t>(uid - 1)); }
  void keep(Desc d) { helpers_.push_back(std::move(d)); }

  std::vector<Desc> tensors_, ops_, helpers_;  // helpers_: the descriptors operations point to
};

// An execution plan with every descriptor it was made from: cuDNN's plans point into their engine
// configuration and operation graph, so these live as long as the plan (as cudnn-frontend keeps
// them).
struct Plan {
  GraphBuilder builder;  // the tensors and operations
  Desc graph, heuristics;
  std::vector<Desc> configs;
  Desc plan;
};

// The first engine configuration cuDNN's heuristics offer for `p.builder`'s graph that finalizes
// into an execution plan (heuristic mode A, then the fallback list).
void build_plan(Plan& p, cudnnHandle_t handle, int sm_count_target, const char* what) {
  p.graph = p.builder.graph(handle);
  std::string tried;
  for (cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    Desc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    heur.set_desc(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, p.graph);
    heur.set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, mode);
    if (sm_count_target > 0)
      heur.set(CUDNN_ATTR_ENGINEHEUR_SM_COUNT_TARGET, CUDNN_TYPE_INT32, static_cast<std::int32_t>(sm_count_target));
    if (cudnnBackendFinalize(heur.get()) != CUDNN_STATUS_SUCCESS) continue;
    std::int64_t count = 0;
    PPSIM_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                               0, &count, nullptr));
    std::vector<Desc> configs;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (std::int64_t i = 0; i < count; ++i) {
      configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
      raw.push_back(configs.back().get());
    }
    std::int64_t returned = 0;
    if (count > 0)
      PPSIM_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &returned, raw.data()));
    for (std::int64_t i = 0; i < returned; ++i) {
      Desc plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      plan.set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, handle);
      plan.set_desc(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, configs[static_cast<std::size_t>(i)]);
      const cudnnStatus_t st = cudnnBackendFinalize(plan.get());
      if (st == CUDNN_STATUS_SUCCESS) {
        p.heuristics = std::move(heur);
        p.configs = std::move(configs);
        p.plan = std::move(plan);
        return;
      }
      if (tried.size() < 400) tried += std::string(tried.empty() ? "" : "; ") + cudnnGetErrorString(st);
    }
  }
  char last[512] = "";
  cudnnGetLastErrorString(last, sizeof last);
  throw CudaError(std::string("cuDNN has no engine for the fused attention ") + what + " graph" +
                  (tried.empty() ? "" : " (" + tried + ")") + (last[0] ? std::string(": ") + last : std::string()));
}

std::int64_t workspace_of(const Desc& plan) {
  std::int64_t bytes = 0, n = 0;
  PPSIM_CUDNN_CHECK(
      cudnnBackendGetAttribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &n, &bytes));
  return bytes;
}

// Executes `plan` with one pointer per tensor uid (host pointers for by-value scalars).
void execute(cudnnHandle_t handle, const Desc& plan, const std::vector<std::int64_t>& uids,
             const std::vector<void*>& pointers, void* workspace) {
  Desc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  PPSIM_CUDNN_CHECK(cudnnBackendSetAttribute(pack.get(), CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64,
                                             static_cast<std::int64_t>(uids.size()), uids.data()));
  PPSIM_CUDNN_CHECK(cudnnBackendSetAttribute(pack.get(), CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR,
                                             static_cast<std::int64_t>(pointers.size()), pointers.data()));
  pack.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, workspace);
  pack.finalize();
  PPSIM_CUDNN_CHECK(cudnnBackendExecute(handle, plan.get(), pack.get()));
}

// The dimensions and strides of the graphs' tensors for one shape: dims are (batch, heads, rows,
// columns) throughout, strides say where the token-major buffers keep them.
struct Layout {
  std::int64_t b, hq, hk, s, d;
  explicit Layout(const AttentionShape& a) : b(a.batch), hq(a.heads), hk(a.kv_heads), s(a.seq), d(a.head_dim) {}
  Dims q_dims() const { return {b, hq, s, d}; }
  Dims q_strides() const { return {s * hq * d, d, hq * d, 1}; }
  Dims kv_dims() const { return {b, hk, s, d}; }
  Dims kv_strides() const { return {s * hk * d, d, hk * d, 1}; }
  Dims kv_t_dims() const { return {b, hk, d, s}; }  // Kᵀ (and Vᵀ): the same memory, rows and columns swapped
  Dims kv_t_strides() const { return {s * hk * d, d, 1, hk * d}; }
  Dims scores_dims() const { return {b, hq, s, s}; }
  Dims scores_strides() const { return {hq * s * s, s * s, s, 1}; }
  Dims scores_t_strides() const { return {hq * s * s, s * s, 1, s}; }  // the transposed view
  Dims row_dims() const { return {b, hq, s, 1}; }
  Dims row_strides() const { return {hq * s, s, 1, 1}; }
  Dims bhsd_strides() const { return {hq * s * d, s * d, d, 1}; }  // dQ accumulator, full-head dK/dV
};

// Forward: S = scale · Q Kᵀ, causal mask, P = softmax(S) with stats = max + log(sum exp), O = P V.
std::vector<std::int64_t> add_forward(GraphBuilder& g, const AttentionShape& shape) {
  const Layout l(shape);
  const int q = g.tensor(CUDNN_DATA_BFLOAT16, l.q_dims(), l.q_strides());
  const int kt = g.tensor(CUDNN_DATA_BFLOAT16, l.kv_t_dims(), l.kv_t_strides());
  const int v = g.tensor(CUDNN_DATA_BFLOAT16, l.kv_dims(), l.kv_strides());
  const int o = g.tensor(CUDNN_DATA_BFLOAT16, l.q_dims(), l.q_strides());
  const int stats = g.tensor(CUDNN_DATA_FLOAT, l.row_dims(), l.row_strides());
  const int scale_t = g.scalar(), neg_inf_t = g.scalar();
  auto scores = [&] { return g.virtual_tensor(CUDNN_DATA_FLOAT, l.scores_dims(), l.scores_strides()); };
  auto rows = [&] { return g.virtual_tensor(CUDNN_DATA_FLOAT, l.row_dims(), l.row_strides()); };

  const int s1 = scores();
  g.matmul(q, kt, s1);
  const int s2 = scores();
  g.binary(CUDNN_POINTWISE_MUL, s1, scale_t, s2);
  const int s3 = g.causal_mask(s2, l.scores_dims(), l.scores_strides(), neg_inf_t);
  const int max = rows();
  g.reduction(CUDNN_REDUCE_TENSOR_MAX, s3, max);
  const int s4 = scores();
  g.binary(CUDNN_POINTWISE_SUB, s3, max, s4);
  const int e = scores();
  g.unary(CUDNN_POINTWISE_EXP, s4, e);
  const int sum = rows();
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, e, sum);
  const int log_sum = rows();
  g.unary(CUDNN_POINTWISE_LOG, sum, log_sum);
  g.binary(CUDNN_POINTWISE_ADD, max, log_sum, stats);
  const int p = g.virtual_tensor(CUDNN_DATA_BFLOAT16, l.scores_dims(), l.scores_strides());  // bf16 into PV
  g.binary(CUDNN_POINTWISE_DIV, e, sum, p);
  g.matmul(p, v, o);

  return {q, kt, v, o, stats, scale_t, neg_inf_t};  // the order forward() passes pointers in
}

// Backward (FlashAttention-2's recomputation): softmax_sum = rowsum(dO ∘ O); P = exp(scale · Q Kᵀ
// - stats), causal; dV = Pᵀ dO; dS = P ∘ (dO Vᵀ - softmax_sum) · scale; dK = dSᵀ Q; dQ = dS K
// through the float accumulator. With grouped-query attention dK and dV are computed per query
// head and summed over each group.
std::vector<std::int64_t> add_backward(GraphBuilder& g, const AttentionShape& shape) {
  const Layout l(shape);
  const bool gqa = l.hq != l.hk;
  const int q = g.tensor(CUDNN_DATA_BFLOAT16, l.q_dims(), l.q_strides());
  const int kt = g.tensor(CUDNN_DATA_BFLOAT16, l.kv_t_dims(), l.kv_t_strides());
  const int vt = g.tensor(CUDNN_DATA_BFLOAT16, l.kv_t_dims(), l.kv_t_strides());
  const int o = g.tensor(CUDNN_DATA_BFLOAT16, l.q_dims(), l.q_strides());
  const int dout = g.tensor(CUDNN_DATA_BFLOAT16, l.q_dims(), l.q_strides());
  const int stats = g.tensor(CUDNN_DATA_FLOAT, l.row_dims(), l.row_strides());
  const int dq = g.tensor(CUDNN_DATA_BFLOAT16, l.q_dims(), l.q_strides());
  const int dk = g.tensor(CUDNN_DATA_BFLOAT16, l.kv_dims(), l.kv_strides());
  const int dv = g.tensor(CUDNN_DATA_BFLOAT16, l.kv_dims(), l.kv_strides());
  const int softmax_sum = g.tensor(CUDNN_DATA_FLOAT, l.row_dims(), l.row_strides());
  const int dq_accum = g.tensor(CUDNN_DATA_FLOAT, l.q_dims(), l.bhsd_strides());
  const int scale_t = g.scalar(), neg_inf_t = g.scalar(), one_t = g.scalar();
  auto scores = [&] { return g.virtual_tensor(CUDNN_DATA_FLOAT, l.scores_dims(), l.scores_strides()); };
  // The frontend's strides for the dO ∘ O product (virtual, so only a hint).
  const Dims do_o_strides = {l.hq * l.s * l.d, l.s * l.d, l.hq * l.d, 1};

  // softmax_sum = rowsum(dO ∘ O) · 1 (the 1 stands where dropout's scale would be).
  const int do_o = g.virtual_tensor(CUDNN_DATA_FLOAT, l.q_dims(), do_o_strides);
  g.binary(CUDNN_POINTWISE_MUL, dout, o, do_o);
  const int row_sum = g.virtual_tensor(CUDNN_DATA_FLOAT, l.row_dims(), l.row_strides());
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, do_o, row_sum);
  g.binary(CUDNN_POINTWISE_MUL, row_sum, one_t, softmax_sum);

  // P = exp(scale · Q Kᵀ - stats), masked.
  const int s1 = scores();
  g.matmul(q, kt, s1);
  const int s2 = scores();
  g.binary(CUDNN_POINTWISE_MUL, s1, scale_t, s2);
  const int s3 = scores();
  g.binary(CUDNN_POINTWISE_SUB, s2, stats, s3);
  const int s4 = g.causal_mask(s3, l.scores_dims(), l.scores_strides(), neg_inf_t);
  const int p = scores();
  g.unary(CUDNN_POINTWISE_EXP, s4, p);

  // dV = Pᵀ dO (bf16 Pᵀ; per query head, then summed over the group).
  const int pt = g.virtual_tensor(CUDNN_DATA_BFLOAT16, l.scores_dims(), l.scores_t_strides());
  g.reshape(p, pt);
  if (!gqa) {
    g.matmul(pt, dout, dv);
  } else {
    const int dv_full = g.virtual_tensor(CUDNN_DATA_BFLOAT16, l.q_dims(), l.bhsd_strides());
    g.matmul(pt, dout, dv_full);
    g.reduction(CUDNN_REDUCE_TENSOR_ADD, dv_full, dv);
  }

  // dS = P ∘ (dO Vᵀ - softmax_sum) · scale.
  const int dp = scores();
  g.matmul(dout, vt, dp);
  const int t1 = scores();
  g.binary(CUDNN_POINTWISE_SUB, dp, softmax_sum, t1);
  const int t2 = scores();
  g.binary(CUDNN_POINTWISE_MUL, t1, p, t2);
  const int ds = scores();
  g.binary(CUDNN_POINTWISE_MUL, t2, scale_t, ds);

  // dK = dSᵀ Q (bf16 dSᵀ; per query head, then summed over the group).
  const int dst = g.virtual_tensor(CUDNN_DATA_BFLOAT16, l.scores_dims(), l.scores_t_strides());
  g.reshape(ds, dst);
  if (!gqa) {
    g.matmul(dst, q, dk);
  } else {
    const int dk_full = g.virtual_tensor(CUDNN_DATA_BFLOAT16, l.q_dims(), l.bhsd_strides());
    g.matmul(dst, q, dk_full);
    g.reduction(CUDNN_REDUCE_TENSOR_ADD, dk_full, dk);
  }

  // dQ = dS K: K is Kᵀ seen untransposed; accumulated in float, then converted.
  const int k = g.virtual_tensor(CUDNN_DATA_FLOAT, l.kv_dims(), l.kv_strides());
  g.reshape(kt, k);
  g.matmul(ds, k, dq_accum);
  g.unary(CUDNN_POINTWISE_IDENTITY, dq_accum, dq);

  return {q, kt, vt, o, dout, stats, dq, dk, dv, softmax_sum, dq_accum, scale_t, neg_inf_t, one_t};  // as backward()
}

}  // namespace

long cudnn_version() {
  if (!runtime_library_available(RuntimeLibrary::Cudnn)) return 0;
  try {
    return static_cast<long>(cudnnGetVersion());
  } catch (const std::exception&) {
    return 0;
  }
}

struct CudnnAttention::Impl {
  AttentionShape shape;
  long version = 0;
  cudnnHandle_t handle = nullptr;
  Plan fwd, bwd;
  // Tensor uids of each graph, in the order their pointers are passed.
  std::vector<std::int64_t> fwd_uids, bwd_uids;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
  double build_seconds = 0;
  const float scale;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const float one = 1.f;

  explicit Impl(const AttentionShape& s) : shape(s), scale(1.f / std::sqrt(float(s.head_dim))) {}
  ~Impl() {
    if (workspace) cudaFree(workspace);
    fwd = Plan();  // plans before the handle they were built with
    bwd = Plan();
    if (handle) cudnnDestroy(handle);
  }
};

CudnnAttention::CudnnAttention(const AttentionShape& s, int sm_count_target) : impl_(std::make_unique<Impl>(s)) {
  Impl& I = *impl_;
  const auto t0 = std::chrono::steady_clock::now();
  I.version = cudnn_version();
  int device = 0, cc_major = 0;
  PPSIM_CUDA_CHECK(cudaGetDevice(&device));
  PPSIM_CUDA_CHECK(cudaDeviceGetAttribute(&cc_major, cudaDevAttrComputeCapabilityMajor, device));
  const std::string why = cudnn_attention_unsupported(s, I.version, cc_major);
  if (!why.empty()) throw CudaError("cuDNN attention: " + why);
  PPSIM_CUDNN_CHECK(cudnnCreate(&I.handle));
  I.fwd_uids = add_forward(I.fwd.builder, s);
  build_plan(I.fwd, I.handle, sm_count_target, "forward");
  I.bwd_uids = add_backward(I.bwd.builder, s);
  build_plan(I.bwd, I.handle, sm_count_target, "backward");
  I.workspace_bytes = static_cast<std::size_t>(std::max(workspace_of(I.fwd.plan), workspace_of(I.bwd.plan)));
  if (I.workspace_bytes) PPSIM_CUDA_CHECK(cudaMalloc(&I.workspace, I.workspace_bytes));
  I.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

CudnnAttention::~CudnnAttention() = default;

void CudnnAttention::forward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, __nv_bfloat16* o,
                             float* stats, cudaStream_t stream) {
  Impl& I = *impl_;
  PPSIM_CUDNN_CHECK(cudnnSetStream(I.handle, stream));
  // By-value scalars are host pointers, read during execute.
  const std::vector<void*> pointers = {
      const_cast<__nv_bfloat16*>(q), const_cast<__nv_bfloat16*>(k), const_cast<__nv_bfloat16*>(v), o, stats,
      const_cast<float*>(&I.scale),  const_cast<float*>(&I.neg_inf)};
  execute(I.handle, I.fwd.plan, I.fwd_uids, pointers, I.workspace);
}

void CudnnAttention::backward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                              const __nv_bfloat16* o, const __nv_bfloat16* dout, const float* stats, __nv_bfloat16* dq,
                              __nv_bfloat16* dk, __nv_bfloat16* dv, float* softmax_sum, float* dq_accum,
                              cudaStream_t stream) {
  Impl& I = *impl_;
  PPSIM_CUDNN_CHECK(cudnnSetStream(I.handle, stream));
  // Before 9.6 cuDNN expects the dQ accumulator zeroed by its caller (cudnn-frontend does it).
  if (I.version < 90600)
    PPSIM_CUDA_CHECK(cudaMemsetAsync(dq_accum, 0, I.shape.dq_accum_floats() * sizeof(float), stream));
  const std::vector<void*> pointers = {const_cast<__nv_bfloat16*>(q),
                                       const_cast<__nv_bfloat16*>(k),
                                       const_cast<__nv_bfloat16*>(v),
                                       const_cast<__nv_bfloat16*>(o),
                                       const_cast<__nv_bfloat16*>(dout),
                                       const_cast<float*>(stats),
                                       dq,
                                       dk,
                                       dv,
                                       softmax_sum,
                                       dq_accum,
                                       const_cast<float*>(&I.scale),
                                       const_cast<float*>(&I.neg_inf),
                                       const_cast<float*>(&I.one)};
  execute(I.handle, I.bwd.plan, I.bwd_uids, pointers, I.workspace);
}

std::size_t CudnnAttention::workspace_bytes() const { return impl_->workspace_bytes; }
double CudnnAttention::build_seconds() const { return impl_->build_seconds; }

void cudnn_attention_check_ops(const AttentionShape& s) {
  GraphBuilder forward, backward;
  add_forward(forward, s);
  add_backward(backward, s);
}

}  // namespace ppsim::cuda
