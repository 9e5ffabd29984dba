"""The action for the last step of each window, computing only what that action needs (evaluation's hot loop).

`DecisionTransformerModel.forward` predicts a state, an action and a return at every position of the window; a
rollout reads one number of it: the action at the last state token. `last_action` computes that number from the same
weights with less work (how it is computed differs, not what: tests compare it with the full forward):
- the last transformer layer runs its query, attention, projection and MLP for that one token only (its keys and
  values still for every token): ~28 % fewer FLOPs for the 3-layer model;
- every layer calls the model's own submodules directly, without transformers' per-call work (mask building, output
  classes, keyword plumbing), which on a CPU costs about as much as the arithmetic for a batch of 10 windows;
- under autocast, the transformer layers' weights are cast once and kept (`cast_weights.CastWeights`, held by a
  `LastActionPolicy` across its calls) rather than cast by autocast at every call: the same cast, the same kernels,
  so the same numbers (the small embedding and action layers run as modules, so hooks on them see every call).
Measured (BENCHMARKS.md, "Evaluation"): 10 episodes x 1,000 steps 1.3-1.4x faster than through the full forward, the
rollouts' failure rate at high targets as through the full forward (attention in float32, see `_attention`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import DecisionTransformerModel

from dt_tutorial.model import conditioned
from dt_tutorial.speed.cast_weights import CastWeights


def supports_last_action(config) -> bool:
    """False for the GPT-2 options `last_action` does not reproduce (upcast attention, cross-attention)."""
    return not (getattr(config, "reorder_and_upcast_attn", False) or getattr(config, "add_cross_attention", False))


class LastActionPolicy:
    """A Decision Transformer as a rollout policy whose `predict_actions(window)` is `last_action` (in eval mode; in
    train mode, with dropout, the model's own full forward). Everything else is the model's: `config`, `parameters`,
    `to`, `eval`, `train`, ... The weights cast under autocast are kept across its calls."""

    def __init__(self, model: DecisionTransformerModel):
        self.model, self.cast_cache = model, {}

    def __getattr__(self, name: str):  # called for what this wrapper lacks: the model's attribute
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def predict_actions(self, window: dict[str, torch.Tensor]) -> torch.Tensor:
        """[n, act_dim]: the action for the last step of each window ([n, K, ...], the collator's layout)."""
        if self.model.training:
            return self.model.predict_actions(window)
        weights = CastWeights.current(window["states"].device.type, self.cast_cache)
        return last_action(self.model, **conditioned(self.model.config, window), weights=weights)


def last_action(model, states, actions, returns_to_go, timesteps, attention_mask, weights: CastWeights | None = None,
                **_) -> torch.Tensor:
    """`model(...).action_preds[:, -1]` of a DecisionTransformerModel in eval mode: [n, act_dim].

    Inputs in the collator's layout ([n, K, ...], left padded; `rewards` and other keys are ignored, as the model
    ignores them); the last step of every window must be real (mask 1), as in a rollout. `weights` keeps the cast
    weights across calls (default: cast at this call, as autocast would)."""
    n, K = states.shape[:2]
    w = weights or CastWeights.current(states.device.type, {})
    time = model.embed_timestep(timesteps)  # [n, K, hidden]
    tokens = torch.stack(  # [n, K, 3, hidden] -> [n, 3K, hidden]: R_1, s_1, a_1, R_2, s_2, a_2, ...
        (model.embed_return(returns_to_go) + time, model.embed_state(states) + time, model.embed_action(actions) + time), dim=2
    ).reshape(n, 3 * K, -1)
    encoder = model.encoder
    # DecisionTransformerModel gives GPT-2 position 0 for every token: its position embedding is one constant vector.
    hidden = model.embed_ln(tokens) + encoder.wpe.weight[0]  # [n, 3K, hidden]
    real = attention_mask.bool().repeat_interleave(3, dim=1)  # [n, 3K]
    causal = torch.ones(3 * K, 3 * K, dtype=torch.bool, device=states.device).tril()  # [3K, 3K]
    # Each query sees earlier real tokens; a padding query sees itself too (no empty row: no NaN); no real query
    # ever sees a padding token, so padding never changes a real token, as in transformers' mask.
    allowed = (causal & (real[:, None, :] | torch.eye(3 * K, dtype=torch.bool, device=states.device)))[:, None]  # [n, 1, 3K, 3K]
    *layers, last = encoder.h
    for block in layers:
        hidden = hidden + _attention(w, block.attn, block.ln_1(hidden), allowed)
        hidden = hidden + _mlp(w, block.mlp, block.ln_2(hidden))
    # The last layer, for the last state token (position 3K - 2) alone.
    state_token = slice(3 * K - 2, 3 * K - 1)
    hidden = hidden[:, state_token] + _attention(w, last.attn, last.ln_1(hidden), allowed[:, :, state_token], state_token)
    hidden = hidden + _mlp(w, last.mlp, last.ln_2(hidden))  # [n, 1, hidden]
    return model.predict_action(encoder.ln_f(hidden))[:, 0]  # [n, act_dim]


def _mlp(w, mlp, x) -> torch.Tensor:
    """GPT-2's MLP (Conv1D, activation, Conv1D; dropout is off in eval mode) with `w`'s weights."""
    return w.conv1d(mlp.c_proj, mlp.act(w.conv1d(mlp.c_fc, x)))


def _attention(w, attn, x, allowed, queries: slice = slice(None)) -> torch.Tensor:
    """GPT-2 self-attention of `attn` over the tokens `x` ([n, T, hidden]) for the query tokens `queries`."""
    d = attn.embed_dim
    # GPT-2's Conv1D computes x @ weight + bias, weight [d, 3d]: the query's part is weight.T[:d], keys' and values' the rest
    query = F.linear(x[:, queries], w.get(attn.c_attn.weight, "q", lambda p: p.T[:d]), w.get(attn.c_attn.bias, "q", lambda p: p[:d]))
    key, value = F.linear(x, w.get(attn.c_attn.weight, "kv", lambda p: p.T[d:]), w.get(attn.c_attn.bias, "kv", lambda p: p[d:])).split(d, dim=-1)

    def heads(t):  # [n, tokens, d] -> [n, heads, tokens, head_dim]
        return t.view(*t.shape[:2], attn.num_heads, attn.head_dim).transpose(1, 2)

    # Scores, softmax and weighted sum in float32 whatever the autocast (a few % of the FLOPs): under bf16, torch's
    # fused kernel with a mask rounded enough differently from transformers' call to change the rollouts.
    scores = heads(query).float() @ heads(key).float().transpose(-1, -2) * attn.scaling  # [n, heads, Q, T]
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
    out = weights @ heads(value).float()  # [n, heads, Q, head_dim]
    return w.conv1d(attn.c_proj, out.transpose(1, 2).reshape(*query.shape[:2], -1))  # [n, Q, d]
