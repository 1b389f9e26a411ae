"""The program the validation job runs inside the sandbox (only NumPy and ``framework``).

It reads ``/job/spec.json`` (written by :mod:`hub.zoo.validation`), loads the model from
``/job/model`` — a saved static program (``fw.jit.load``) or ``model.py``'s ``build_model()``
with the weights from the top-level ``.safetensors`` file — runs a forward pass on sample
inputs matching the card, checks the outputs' shapes and dtypes, re-measures the metrics it
can, and writes ``/job/result.json``. It never imports hub code.

A ``model.py`` runs the uploader's Python in this process, which could forge the result; so
for such models (``"export": true``) this program only checks the forward pass and saves the
model with ``fw.jit.save`` into ``/job/export``; the metrics are then measured by a second,
separate run on that saved program, in which no uploaded Python runs.
"""

import json
import math
import sys
import traceback

import numpy as np

JOB = "/job"
MODEL = JOB + "/model"
EVAL_LIMIT = 2048


def sample(spec, rng):
    shape = tuple(2 if d is None else d for d in spec["shape"])
    dtype = spec["dtype"]
    if dtype.startswith(("int", "uint")):
        low, high = spec.get("range", [0, 1])
        return rng.integers(low, high, size=shape).astype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype == "bfloat16":
        dtype = "float32"
    return rng.standard_normal(shape).astype(dtype)


def build(spec, fw):
    if spec["architecture"] == "program":
        folder = MODEL + ("/" + spec["program_dir"] if spec["program_dir"] else "")
        return fw.jit.load(folder)
    sys.path.insert(0, MODEL)
    import model as module  # the uploaded model.py

    if not hasattr(module, "build_model"):
        raise RuntimeError("model.py must define build_model() returning the model")
    net = module.build_model()
    state = {}
    for path in spec["weights"]:
        loaded = fw.load(MODEL + "/" + path)
        if not isinstance(loaded, dict):
            raise RuntimeError(f"{path} does not hold a state dict (save model.state_dict())")
        state.update(loaded)
    result = net.load_state_dict(state)
    missing = list(getattr(result, "missing_keys", []) or [])
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    if missing or unexpected:
        raise RuntimeError(f"the weights do not match build_model(): missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}")
    if hasattr(net, "eval"):
        net.eval()
    return net


def as_list(out):
    if isinstance(out, dict):
        return list(out.values())
    if isinstance(out, (list, tuple)):
        return list(out)
    return [out]


def to_numpy(t):
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


def forward(net, fw, arrays):
    with fw.no_grad():
        return as_list(net(*[fw.from_numpy(np.ascontiguousarray(a)) for a in arrays]))


def check_outputs(outs, specs):
    problems, seen = [], []
    for out in outs:
        seen.append({"shape": list(out.shape), "dtype": str(out.dtype)})
    if len(outs) != len(specs):
        problems.append(f"the model returned {len(outs)} outputs, the card lists {len(specs)}")
    for got, spec in zip(seen, specs, strict=False):
        want = spec["shape"]
        if len(got["shape"]) != len(want) or any(
                w is not None and w != g for w, g in zip(want, got["shape"], strict=False)):
            problems.append(f"output '{spec['name']}' has shape {got['shape']}, the card says "
                            f"{want}")
        if got["dtype"] != spec["dtype"]:
            problems.append(f"output '{spec['name']}' has dtype {got['dtype']}, the card says "
                            f"{spec['dtype']}")
    return seen, problems


def batches(x, size=256):
    for start in range(0, len(x), size):
        yield start, x[start:start + size]


def eval_digits(net, fw, spec):
    from framework.data.datasets import _digits_arrays, _digits_test_mask

    images, labels = _digits_arrays()
    test = _digits_test_mask(labels)
    keep = test if spec["split"] in ("test", "validation", "val") else ~test
    x = images[keep].astype(np.float32) / np.float32(16)
    y = labels[keep]
    shape = [d for d in spec["input_shape"][1:]]
    x = x.reshape(len(x), *[d if d is not None else -1 for d in shape]) if shape else x
    correct = 0
    for start, chunk in batches(x):
        logits = to_numpy(forward(net, fw, [chunk])[0])
        correct += int((logits.reshape(len(chunk), -1).argmax(1) == y[start:start + len(chunk)])
                       .sum())
    return {"accuracy": correct / len(y)}


def eval_corpus(net, fw, spec):
    seq_len = spec["input_shape"][1] if len(spec["input_shape"]) > 1 else None
    seq_len = seq_len or 64
    corpus = fw.data.CharCorpus(seq_len=seq_len, train=spec["split"] == "train")
    n = min(len(corpus), max(1, EVAL_LIMIT // seq_len * 4))
    xs = np.stack([to_numpy(corpus[i][0]) for i in range(n)])
    ys = np.stack([to_numpy(corpus[i][1]) for i in range(n)])
    total, correct, nll = 0, 0, 0.0
    for start, chunk in batches(xs, 64):
        logits = to_numpy(forward(net, fw, [chunk])[0]).astype(np.float64)
        target = ys[start:start + len(chunk)]
        logits = logits.reshape(-1, logits.shape[-1])
        target = target.reshape(-1)
        shifted = logits - logits.max(1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        nll += float(-logp[np.arange(len(target)), target].sum())
        correct += int((logits.argmax(1) == target).sum())
        total += len(target)
    loss = nll / total
    return {"accuracy": correct / total, "loss": loss, "cross_entropy": loss,
            "perplexity": math.exp(loss)}


def main():
    with open(JOB + "/spec.json", encoding="utf-8") as fh:
        spec = json.load(fh)
    result = {"ok": False, "error": "", "outputs": [], "metrics": []}
    try:
        import framework as fw

        result["framework_version"] = getattr(fw, "__version__", "")
        net = build(spec, fw)
        rng = np.random.default_rng(0)
        outs = forward(net, fw, [sample(s, rng) for s in spec["inputs"]])
        result["outputs"], problems = check_outputs(outs, spec["outputs"])
        if problems:
            raise RuntimeError("; ".join(problems))
        if spec.get("export"):
            try:
                specs = [fw.jit.InputSpec(s["shape"], s["dtype"]) for s in spec["inputs"]]
                fw.jit.save(net, JOB + "/export", specs)
                result["exported"] = True
            except Exception as exc:  # an untraceable model still passes, unverified
                result["exported"] = False
                result["export_error"] = f"{type(exc).__name__}: {exc}"[:500]
            result["ok"] = True
            return finish(result)
        measured_cache = {}
        for metric in spec["metrics"]:
            key = (metric["dataset"], metric["split"])
            if key not in measured_cache:
                job = {"split": metric["split"], "input_shape": spec["inputs"][0]["shape"]}
                run = eval_digits if metric["dataset"] == "digits" else eval_corpus
                measured_cache[key] = run(net, fw, job)
            value = measured_cache[key].get(metric["name"])
            result["metrics"].append({**metric, "measured": value})
        result["ok"] = True
    except Exception as exc:  # the job reports any failure of the uploaded model
        lines = traceback.format_exception_only(type(exc), exc)
        result["error"] = "".join(lines).strip()[:2000]
    finish(result)


def finish(result):
    with open(JOB + "/result.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
