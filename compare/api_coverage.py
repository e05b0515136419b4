"""Which of a reference framework's commonly used names our front-ends have, checked live.

The lists below are data: for each reference (PyTorch for eager), the names its tutorials and
examples use, in groups. Whether a front-end has a name is never written down: `check` resolves
each dotted name against the front-end's modules at run time (attribute by attribute, importing
a submodule where an attribute is not there yet, as `import torch.utils.tensorboard` does), so
the page cannot drift from the code. A name counts only where the front-end itself defines it:
an attribute every class inherits from `object` (`__lt__`, `__init__`...) does not.

TensorFlow 1's names (tf.compat.v1) against `graph` are the second table, Theano's (as
PyTensor keeps them) against `graph.theano` the third: each is one `Coverage` in `TABLES`, with
its own groups, and no code of its own.

`python -m compare api-coverage` prints the summaries and writes a page per table
(out/api_coverage_eager.md, out/api_coverage_tf1.md, out/api_coverage_theano.md).

>>> table = TABLES["eager"]
>>> rows = {row.name: row for row in check(table)}
>>> rows["torch.nn.Linear"].status, rows["torch.Tensor.__lt__"].found_as
('yes', 'eager.Tensor.__lt__')
"""

from __future__ import annotations

import dataclasses
import importlib
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from compare.sections import Section, Table, Text
from compare.timing import format_table

__all__ = ["TABLES", "Coverage", "Group", "Row", "check", "main", "markdown", "resolve", "run",
           "summary_rows", "terminal_text"]

DEFAULT_PATH = Path("out") / "api_coverage.md"
STATUSES = ("yes", "missing", "error")


@dataclasses.dataclass(frozen=True)
class Group:
    """Names of one part of the reference API: `prefix` (like "nn.functional") followed by each
    of `names`, given as one whitespace-separated string so the lists read like a page."""

    title: str
    prefix: str
    names: str

    def dotted(self) -> list[tuple[str, str]]:
        """(name, name with the prefix): ('relu', 'nn.functional.relu'), in the given order."""
        return [(name, f"{self.prefix}.{name}" if self.prefix else name)
                for name in self.names.split()]


@dataclasses.dataclass(frozen=True)
class Coverage:
    """One table: a reference API (`reference`, the name its users import, like "torch") and
    the module of ours that answers for it (`target`, like "eager"). `renames` maps a dotted
    reference name (without the reference's name) to where ours has it, for the few names a
    front-end keeps elsewhere."""

    key: str
    title: str
    reference: str
    target: str
    groups: tuple
    renames: Mapping = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        seen: set = set()
        for group in self.groups:
            for _, dotted in group.dotted():
                if dotted in seen:
                    raise ValueError(f"{self.key} table: {self.reference}.{dotted} is listed "
                                     f"twice (again in {group.title!r})")
                seen.add(dotted)


@dataclasses.dataclass(frozen=True)
class Row:
    """One name: its group, the reference's name (`name`, and `short`, without the group's
    prefix), the name it was looked up as, and what was found: "yes", "missing", or "error" (a
    module that failed to import; `detail` says why)."""

    group: str
    name: str
    short: str
    found_as: str
    status: str
    detail: str = ""


def _own_attribute(owner, name: str):
    """`owner.name`, or a `KeyError` where `owner` lacks it or a class only inherits it from
    `object` (every class has `__lt__`; what matters is whether ours defines it)."""
    if isinstance(owner, type):
        for klass in owner.__mro__:
            if klass is object:
                break
            if name in vars(klass):
                return getattr(owner, name)
        raise KeyError(name)
    if not hasattr(owner, name):
        raise KeyError(name)
    return getattr(owner, name)


def resolve(target: str, dotted: str) -> tuple[str, str]:
    """(status, detail) of `target` + "." + `dotted`: "yes", "missing" or "error".

    >>> resolve("eager", "nn.Linear"), resolve("eager", "no_such_name")[0]
    (('yes', ''), 'missing')
    """
    try:
        owner = importlib.import_module(target)
    except ImportError as error:
        return "error", f"import {target}: {error}"
    for part in dotted.split("."):
        try:
            owner = _own_attribute(owner, part)
            continue
        except KeyError:
            pass
        if not isinstance(owner, ModuleType):
            return "missing", ""
        submodule = f"{owner.__name__}.{part}"
        try:
            owner = importlib.import_module(submodule)
        except ModuleNotFoundError as error:
            if error.name is not None and (submodule + ".").startswith(error.name + "."):
                return "missing", ""  # no such module (nor a parent of it)
            return "error", f"import {submodule}: {error}"
        except ImportError as error:
            return "error", f"import {submodule}: {error}"
    return "yes", ""


def check(table: Coverage) -> list[Row]:
    """Every name of `table`, resolved now, in the order of its groups."""
    rows = []
    for group in table.groups:
        for short, dotted in group.dotted():
            ours = table.renames.get(dotted, dotted)
            status, detail = resolve(table.target, ours)
            rows.append(Row(group.title, f"{table.reference}.{dotted}", short,
                            f"{table.target}.{ours}", status, detail))
    return rows


def summary_rows(rows: list[Row]) -> list[list[str]]:
    """Per group: [group, has, of, missing names]."""
    by_group: dict[str, list[Row]] = {}
    for row in rows:
        by_group.setdefault(row.group, []).append(row)
    summary = []
    for group, members in by_group.items():
        has = sum(row.status == "yes" for row in members)
        lacking = [row.short for row in members if row.status != "yes"]
        summary.append([group, str(has), str(len(members)), ", ".join(lacking) or "-"])
    return summary


def terminal_text(table: Coverage, rows: list[Row]) -> str:
    """The summary for a terminal: a count per group, then what each group lacks."""
    summary = summary_rows(rows)
    lines = [f"== {table.title}: {table.target} has {_percent(rows)} ==",
             format_table(["group", "has", "of"], [row[:3] for row in summary]), "",
             f"missing from {table.target}:"]
    for group, _, _, lacking in summary:
        if lacking != "-":
            lines += textwrap.wrap(f"{group}: {lacking}", width=100, subsequent_indent="    ")
    return "\n".join(lines)


def _found_text(row: Row) -> str:
    return {"yes": row.found_as, "missing": "missing", "error": f"error: {row.detail}"}[row.status]


def _percent(rows: list[Row]) -> str:
    has = sum(row.status == "yes" for row in rows)
    return f"{has} of {len(rows)} ({100 * has / max(len(rows), 1):.0f}%)"


def markdown(table: Coverage, rows: list[Row], note: str = "") -> str:
    """The page: a summary per group, then every name with what was found."""
    lines = [f"# {table.title}", "",
             f"Each name of `{table.reference}` below is looked up in `{table.target}` when this "
             f"page is generated (`python -m compare api-coverage`), so it states what the code "
             f"has, not what someone remembered. {table.target} has {_percent(rows)}.", ""]
    if note:
        lines += [note, ""]
    lines += ["## Summary", "", "| group | has | of | missing |", "| --- | --- | --- | --- |"]
    lines += [f"| {group} | {has} | {of} | {lacking} |"
              for group, has, of, lacking in summary_rows(rows)]
    current = None
    for row in rows:
        if row.group != current:
            current = row.group
            lines += ["", f"## {current}", "", f"| {table.reference} | {table.target} |",
                      "| --- | --- |"]
        found = f"`{row.found_as}`" if row.status == "yes" else f"**{_found_text(row)}**"
        lines.append(f"| `{row.name}` | {found} |")
    return "\n".join(lines) + "\n"


def run(small: bool = False, key: str = "eager") -> Section:
    """The table as a report Section (`small` changes nothing: the check is quick)."""
    table = TABLES[key]
    rows = check(table)
    section = Section(
        f"api-coverage-{key}", table.title,
        f"Each name is looked up in `{table.target}` when the page is made, so the table "
        "follows the code.",
        summary=f"{table.target} has {_percent(rows)} of the {table.reference} names listed")
    section.add(Table(["group", "has", "of", "missing"], summary_rows(rows)))
    groups: dict[str, list[list[str]]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append([row.name, _found_text(row)])
    for group, found in groups.items():
        section.add(Text(group), Table([table.reference, table.target], found))
    return section


def main(out: Path | None = DEFAULT_PATH, keys=None) -> str:
    """Check the tables named by `keys` (all by default); write the page(s) to `out` (a .md
    file, or .html for a report page; one file per table beside it when there are several)
    and return the terminal text."""
    keys = list(TABLES) if keys is None else list(keys)
    texts = []
    for key in keys:
        table = TABLES[key]
        rows = check(table)
        texts.append(terminal_text(table, rows))
        if out is None:
            continue
        path = Path(out)
        if len(keys) > 1:
            path = path.with_name(f"{path.stem}_{key}{path.suffix}")
        note = f"Generated on {time.strftime('%Y-%m-%d %H:%M')}."
        if path.suffix == ".html":
            from compare import report

            written = report.write_report([run(key=key)], path, title=table.title, note=note)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(markdown(table, rows, note))
            written = path.resolve()
        texts.append(f"page: {written}")
    return "\n\n".join(texts)


# -- the data ---------------------------------------------------------------------------------
# PyTorch's names as its tutorials and examples use them (quickstart, the nn and autograd
# tutorials, the examples repository): not the whole API, the part a newcomer types first.

TORCH_GROUPS = (
    Group("torch: creating tensors", "", """
        tensor as_tensor from_numpy zeros zeros_like ones ones_like empty empty_like full
        full_like arange linspace logspace eye rand rand_like randn randn_like randint
        randint_like randperm normal bernoulli multinomial manual_seed seed initial_seed
        Generator is_tensor numel get_default_dtype set_default_dtype
    """),
    Group("torch: dtypes and devices", "", """
        float32 float64 float16 bfloat16 int64 int32 int16 int8 uint8 bool float double half
        long int device cuda.is_available
    """),
    Group("torch: joining, slicing, reshaping", "", """
        cat concat stack hstack vstack split chunk unbind squeeze unsqueeze reshape flatten
        transpose permute t movedim narrow gather scatter scatter_add index_select
        masked_select masked_fill take where nonzero flip roll repeat_interleave tile tril
        triu diag diagonal broadcast_to broadcast_tensors meshgrid
    """),
    Group("torch: maths", "", """
        abs neg sign sqrt rsqrt square exp expm1 log log1p log2 log10 pow reciprocal sin cos
        tan asin acos atan atan2 sinh cosh tanh sigmoid relu softmax log_softmax erf floor
        ceil round trunc frac fmod remainder floor_divide div true_divide mul add sub clamp
        clip maximum minimum lerp
    """),
    Group("torch: reductions and comparisons", "", """
        sum mean median mode prod std var std_mean var_mean max min argmax argmin amax amin
        logsumexp cumsum cumprod norm dist cdist all any eq ne lt le gt ge equal allclose
        isclose isnan isinf isfinite nan_to_num logical_and logical_or logical_not
        logical_xor sort argsort topk kthvalue unique bincount histc count_nonzero
    """),
    Group("torch: linear algebra", "", """
        matmul mm bmm baddbmm addmm mv dot outer einsum trace cross linalg.norm
        linalg.vector_norm linalg.matrix_norm linalg.inv linalg.solve linalg.det linalg.svd
        linalg.qr linalg.eigh linalg.cholesky
    """),
    Group("torch: autograd, saving, modes", "", """
        no_grad enable_grad set_grad_enabled is_grad_enabled inference_mode autograd.grad
        autograd.backward autograd.Function autograd.gradcheck autograd.detect_anomaly save
        load compile
    """),
    Group("torch.Tensor: attributes and conversion", "Tensor", """
        shape size dim ndim numel dtype device requires_grad grad grad_fn is_leaf data T mT
        item tolist numpy backward detach detach_ requires_grad_ retain_grad register_hook
        clone contiguous is_contiguous to cpu cuda float double long int half bool type
        type_as is_floating_point new_zeros new_ones new_full new_empty new_tensor
        element_size nelement pin_memory
    """),
    Group("torch.Tensor: shape and indexing", "Tensor", """
        view view_as reshape reshape_as expand expand_as repeat flatten squeeze unsqueeze
        transpose permute t chunk split unbind flip roll tril triu gather scatter scatter_
        scatter_add scatter_add_ index_select index_add_ index_fill_ masked_fill masked_fill_
        masked_select nonzero where __getitem__ __setitem__ __len__ __iter__
    """),
    Group("torch.Tensor: maths and reductions", "Tensor", """
        abs neg exp log sqrt pow clamp clip sigmoid tanh relu softmax log_softmax
        matmul mm bmm dot floor ceil round fmod remainder sum mean std var max min argmax
        argmin amax amin prod cumsum norm logsumexp all any eq ne lt le gt ge equal allclose
        isnan isinf topk sort argsort unique
    """),
    Group("torch.Tensor: in-place", "Tensor", """
        zero_ fill_ normal_ uniform_ bernoulli_ copy_ add_ sub_ mul_ div_ exp_ log_ clamp_
        abs_ neg_ pow_
    """),
    Group("torch.Tensor: operators", "Tensor", """
        __add__ __radd__ __iadd__ __sub__ __rsub__ __isub__ __mul__ __rmul__ __imul__
        __truediv__ __rtruediv__ __itruediv__ __floordiv__ __mod__ __pow__ __rpow__
        __matmul__ __neg__ __abs__ __lt__ __le__ __gt__ __ge__ __eq__ __ne__ __and__ __or__
        __xor__ __invert__ __bool__ __float__ __int__ __index__
    """),
    Group("torch.nn: modules", "nn", """
        Module Parameter Sequential ModuleList ModuleDict ParameterList ParameterDict
        Module.forward Module.parameters Module.named_parameters Module.children
        Module.named_children Module.modules Module.named_modules Module.buffers
        Module.register_buffer Module.register_parameter Module.add_module Module.state_dict
        Module.load_state_dict Module.train Module.eval Module.zero_grad Module.to
        Module.cpu Module.double Module.float Module.apply Module.requires_grad_
        Module.register_forward_hook Module.register_forward_pre_hook
        Module.register_full_backward_hook Module.extra_repr
    """),
    Group("torch.nn: layers", "nn", """
        Linear Bilinear Identity Flatten Unflatten Conv1d Conv2d Conv3d ConvTranspose2d
        MaxPool1d MaxPool2d AvgPool1d AvgPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d
        AdaptiveMaxPool2d BatchNorm1d BatchNorm2d LayerNorm GroupNorm InstanceNorm2d Dropout
        Dropout2d Embedding EmbeddingBag RNN LSTM GRU RNNCell LSTMCell GRUCell
        MultiheadAttention Transformer TransformerEncoder TransformerEncoderLayer
        TransformerDecoderLayer Upsample PixelShuffle CosineSimilarity PairwiseDistance
    """),
    Group("torch.nn: activations", "nn", """
        ReLU LeakyReLU PReLU ReLU6 ELU SELU GELU SiLU Mish Sigmoid Tanh Hardtanh Softplus
        Softmax LogSoftmax
    """),
    Group("torch.nn: losses", "nn", """
        CrossEntropyLoss NLLLoss MSELoss L1Loss SmoothL1Loss HuberLoss BCELoss
        BCEWithLogitsLoss KLDivLoss TripletMarginLoss CosineEmbeddingLoss
    """),
    Group("torch.nn.functional", "nn.functional", """
        relu leaky_relu gelu silu elu selu mish sigmoid tanh hardtanh relu6 softplus softmax
        log_softmax dropout linear conv1d conv2d conv_transpose2d max_pool2d avg_pool2d
        adaptive_avg_pool2d batch_norm layer_norm group_norm embedding one_hot pad
        interpolate normalize cosine_similarity cross_entropy nll_loss mse_loss l1_loss
        smooth_l1_loss binary_cross_entropy binary_cross_entropy_with_logits kl_div
        scaled_dot_product_attention
    """),
    Group("torch.nn.init and torch.nn.utils", "nn", """
        init.xavier_uniform_ init.xavier_normal_ init.kaiming_uniform_ init.kaiming_normal_
        init.zeros_ init.ones_ init.constant_ init.normal_ init.uniform_ init.orthogonal_
        init.trunc_normal_ init.calculate_gain utils.clip_grad_norm_ utils.clip_grad_value_
        utils.parameters_to_vector utils.vector_to_parameters utils.rnn.pad_sequence
        utils.rnn.pack_padded_sequence utils.rnn.pad_packed_sequence
    """),
    Group("torch.optim", "optim", """
        Optimizer Optimizer.step Optimizer.zero_grad Optimizer.state_dict
        Optimizer.load_state_dict Optimizer.add_param_group SGD Adam AdamW RMSprop Adagrad
        lr_scheduler.StepLR lr_scheduler.MultiStepLR lr_scheduler.ExponentialLR
        lr_scheduler.CosineAnnealingLR lr_scheduler.ReduceLROnPlateau lr_scheduler.LambdaLR
        lr_scheduler.OneCycleLR lr_scheduler.LinearLR
    """),
    Group("torch.utils.data", "utils.data", """
        Dataset IterableDataset TensorDataset DataLoader Subset ConcatDataset random_split
        Sampler RandomSampler SequentialSampler BatchSampler SubsetRandomSampler
        WeightedRandomSampler default_collate get_worker_info
    """),
    Group("torch.utils.tensorboard", "utils.tensorboard", """
        SummaryWriter SummaryWriter.add_scalar SummaryWriter.add_scalars
        SummaryWriter.add_histogram SummaryWriter.add_graph SummaryWriter.add_text
        SummaryWriter.add_image SummaryWriter.add_hparams SummaryWriter.flush
        SummaryWriter.close
    """),
)

# TensorFlow 1's names (tf.compat.v1) as its tutorials and guides use them (MNIST for
# beginners and experts, the variables, sharing-variables and tf.layers guides, the classic
# TF1 examples): graph answers for `tf`.

TF1_GROUPS = (
    Group("tf: graphs, sessions and variables", "", """
        Graph Session InteractiveSession get_default_graph reset_default_graph
        get_default_session placeholder placeholder_with_default constant Variable Tensor
        Operation TensorShape name_scope control_dependencies group no_op identity
        stop_gradient gradients assign assign_add assign_sub global_variables_initializer
        local_variables_initializer variables_initializer global_variables trainable_variables
        local_variables convert_to_tensor device
    """),
    Group("tf: variable scopes and collections", "", """
        variable_scope get_variable get_variable_scope get_local_variable VariableScope
        AUTO_REUSE GraphKeys get_collection get_collection_ref add_to_collection
        add_to_collections
    """),
    Group("tf: dtypes", "", """
        float16 float32 float64 double int8 int16 int32 int64 uint8 bool string as_dtype DType
    """),
    Group("tf: creating and reshaping tensors", "", """
        zeros zeros_like ones ones_like fill range linspace eye one_hot cast to_float to_int32
        to_int64 reshape transpose concat stack unstack split squeeze expand_dims tile pad
        gather gather_nd slice strided_slice boolean_mask sequence_mask reverse shape size rank
    """),
    Group("tf: math", "", """
        add subtract multiply divide truediv floordiv mod pow square sqrt rsqrt exp log log1p
        abs negative sign reciprocal maximum minimum matmul tensordot tanh sigmoid sin cos floor
        ceil round add_n cumsum reduce_sum reduce_mean reduce_max reduce_min reduce_prod
        reduce_logsumexp reduce_all reduce_any argmax argmin equal not_equal less less_equal
        greater greater_equal logical_and logical_or logical_not where clip_by_value
        clip_by_norm clip_by_global_norm global_norm norm count_nonzero
    """),
    Group("tf: random numbers and seeds", "", """
        set_random_seed get_seed random_normal random_uniform truncated_normal random_shuffle
        multinomial random_crop
    """),
    Group("tf.random", "random", """
        normal uniform truncated_normal shuffle categorical set_random_seed
    """),
    Group("tf: initializers", "", """
        zeros_initializer ones_initializer constant_initializer random_normal_initializer
        random_uniform_initializer truncated_normal_initializer glorot_uniform_initializer
        glorot_normal_initializer variance_scaling_initializer orthogonal_initializer
    """),
    Group("tf.initializers", "initializers", """
        zeros ones constant random_normal random_uniform truncated_normal glorot_uniform
        glorot_normal variance_scaling he_normal he_uniform lecun_normal lecun_uniform
        orthogonal global_variables local_variables variables
    """),
    Group("tf: control flow and checks", "", """
        cond while_loop case map_fn scan foldl Assert assert_equal Print print check_numerics
        add_check_numerics_ops
    """),
    Group("tf.nn", "nn", """
        relu relu6 elu selu leaky_relu sigmoid tanh softmax log_softmax softplus dropout
        conv2d conv2d_transpose max_pool avg_pool bias_add batch_normalization moments l2_loss
        l2_normalize embedding_lookup softmax_cross_entropy_with_logits
        softmax_cross_entropy_with_logits_v2 sparse_softmax_cross_entropy_with_logits
        sigmoid_cross_entropy_with_logits top_k in_top_k dynamic_rnn static_rnn
        bidirectional_dynamic_rnn
    """),
    Group("tf.nn.rnn_cell", "nn.rnn_cell", """
        BasicRNNCell BasicLSTMCell LSTMCell GRUCell MultiRNNCell DropoutWrapper LSTMStateTuple
    """),
    Group("tf.layers", "layers", """
        dense conv2d conv2d_transpose max_pooling2d average_pooling2d dropout
        batch_normalization flatten Dense Conv2D
    """),
    Group("tf.losses", "losses", """
        softmax_cross_entropy sparse_softmax_cross_entropy sigmoid_cross_entropy
        mean_squared_error absolute_difference huber_loss log_loss hinge_loss add_loss
        get_total_loss get_regularization_loss Reduction
    """),
    Group("tf.train", "train", """
        GradientDescentOptimizer MomentumOptimizer AdamOptimizer RMSPropOptimizer
        AdagradOptimizer AdadeltaOptimizer Optimizer Saver get_or_create_global_step
        get_global_step create_global_step exponential_decay piecewise_constant
        polynomial_decay inverse_time_decay cosine_decay natural_exp_decay
        ExponentialMovingAverage latest_checkpoint Coordinator start_queue_runners
        MonitoredTrainingSession
    """),
    Group("tf.summary", "summary", """
        scalar histogram image text audio merge merge_all FileWriter
    """),
    Group("methods of Session, Graph, Tensor, Variable and TensorShape", "", """
        Session.run Session.close Session.as_default Graph.as_default
        Graph.get_tensor_by_name Graph.get_operation_by_name Graph.get_operations
        Graph.get_collection Graph.add_to_collection Graph.name_scope Graph.control_dependencies
        Graph.finalize Tensor.eval Tensor.get_shape Tensor.set_shape Tensor.shape Tensor.dtype
        Tensor.name Tensor.op Tensor.graph Operation.run Operation.name Operation.type
        Operation.inputs Operation.outputs Variable.assign Variable.assign_add
        Variable.assign_sub Variable.initializer Variable.load Variable.read_value
        TensorShape.as_list TensorShape.ndims TensorShape.is_fully_defined
        TensorShape.num_elements TensorShape.merge_with TensorShape.is_compatible_with
    """),
)

# Theano's names (as PyTensor keeps them) as its tutorials use them (the Theano tutorial, the
# deeplearning.net tutorials: logistic regression, MLP, LeNet, autoencoders, RBM, LSTM):
# graph.theano answers for `theano`.

THEANO_GROUPS = (
    Group("theano: functions, shared variables, gradients and loops", "", """
        function shared grad scan map reduce foldl foldr clone dot config.floatX config.device
        config.mode ifelse.ifelse In Out Param OrderedUpdates Rop Lop pp printing.pprint
        printing.debugprint printing.pydotprint gradient.jacobian gradient.hessian
        gradient.disconnected_grad gradient.zero_grad gradient.grad_clip scan_module.until
        sandbox.rng_mrg.MRG_RandomStreams
    """),
    Group("theano.tensor: symbolic inputs, types and grad", "tensor", """
        scalar vector row col matrix tensor3 tensor4 tensor5 scalars vectors matrices tensor3s
        fscalar dscalar iscalar lscalar bscalar fvector dvector ivector lvector bvector fmatrix
        dmatrix imatrix lmatrix bmatrix frow drow fcol dcol ftensor3 dtensor3 itensor3 ftensor4
        dtensor4 fscalars dscalars iscalars lscalars fvectors dvectors fmatrices dmatrices
        TensorType TensorVariable TensorConstant tensor constant as_tensor_variable as_tensor
        grad shared_randomstreams.RandomStreams
    """),
    Group("theano.tensor: elementwise", "tensor", """
        add sub mul true_div int_div mod pow neg abs_ sgn exp log log1p log2 log10 sqrt sqr tanh
        sigmoid sin cos tan arcsin arccos arctan floor ceil round iround maximum minimum clip
        switch where eq neq lt gt le ge and_ or_ xor invert isnan isinf erf inv cast fill
    """),
    Group("theano.tensor: reductions", "tensor", """
        sum mean max min prod var std argmax argmin max_and_argmax all any cumsum cumprod
    """),
    Group("theano.tensor: shapes, creation and indexing", "tensor", """
        shape reshape flatten transpose concatenate join stack zeros ones zeros_like ones_like
        alloc arange eye identity_like diag tile repeat roll squeeze shape_padleft
        shape_padright addbroadcast unbroadcast patternbroadcast set_subtensor inc_subtensor
        take nonzero sort argsort
    """),
    Group("theano.tensor: linear algebra, pooling and extra ops", "tensor", """
        dot outer tensordot batched_dot nlinalg.matrix_inverse nlinalg.det
        signal.pool.pool_2d extra_ops.to_one_hot extra_ops.repeat
    """),
    Group("theano.tensor.nnet", "tensor.nnet", """
        softmax logsoftmax sigmoid relu softplus elu ultra_fast_sigmoid hard_sigmoid
        categorical_crossentropy binary_crossentropy sigmoid_binary_crossentropy
        crossentropy_categorical_1hot crossentropy_softmax_1hot conv2d conv3d
        bn.batch_normalization h_softmax softsign
    """),
    Group("TensorVariable: attributes and methods", "tensor.TensorVariable", """
        type dtype ndim broadcastable name owner shape T eval sum mean max min prod var std
        argmax argmin dimshuffle reshape flatten astype dot transpose clip norm copy squeeze
        nonzero sort argsort repeat round
    """),
    Group("TensorVariable: operators", "tensor.TensorVariable", """
        __getitem__ __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__
        __rtruediv__ __floordiv__ __mod__ __pow__ __rpow__ __neg__ __abs__ __lt__ __le__ __gt__
        __ge__ __and__ __or__ __xor__ __invert__ __matmul__
    """),
    Group("shared variables and compiled functions", "compile", """
        SharedVariable SharedVariable.get_value SharedVariable.set_value function_module.Function
        function_module.Function.__call__ mode.Mode
    """),
)

TABLES = {
    "eager": Coverage("eager", "PyTorch's commonly used API in eager", "torch", "eager",
                      TORCH_GROUPS),
    "tf1": Coverage("tf1", "TensorFlow 1's commonly used API in graph", "tf", "graph",
                    TF1_GROUPS),
    "theano": Coverage("theano", "Theano's commonly used API in graph.theano", "theano",
                       "graph.theano", THEANO_GROUPS, renames={
                           "compile.SharedVariable": "SharedVariable",
                           "compile.SharedVariable.get_value": "SharedVariable.get_value",
                           "compile.SharedVariable.set_value": "SharedVariable.set_value",
                           "compile.function_module.Function": "function_module.Function",
                           "compile.function_module.Function.__call__":
                               "function_module.Function.__call__",
                       }),
}
