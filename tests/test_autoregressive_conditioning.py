"""Conditioning of the autoregressive models (issue 14): class labels (PixelCNN, WaveNet)
and local features (WaveNet). The distributions stay normalised for every condition, the
condition really changes them, nothing leaks from the future, cached generation is still
the naive loop, files keep the labels, and bad labels or features get clear errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from test_autoregressive import _depends_on

import genmodels
from genmodels import PixelCNN, Transformer, WaveNet
from genmodels.autoregressive._conditioning import Condition, upsample


def _spread(model):
    """Untrained-looking weights make the checks weak: spread them (label tables too)."""
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        for p in model.module_.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.3)
    return model


def _pixelcnn(shape=(2, 3), n_levels=2, labels=("a", "b", "c"), n_layers=3, **kw):
    rng = np.random.RandomState(0)
    X = rng.randint(0, n_levels, size=(36, shape[0] * shape[1])).astype(float)
    y = np.array(labels)[np.arange(36) % len(labels)]
    params = dict(
        n_layers=n_layers,
        channels=8,
        head_channels=8,
        kernel_size=3,
        n_levels=n_levels,
        image_shape=shape,
        epochs=1,
        batch_size=8,
        random_state=0,
    )
    params.update(kw)
    return _spread(PixelCNN(**params).fit(X, y))


def _codes(n_seq=12, length=20, vocab=3, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randint(0, vocab, size=(length, 1)).astype(float) for _ in range(n_seq)]


def _wavenet(layers=2, blocks=1, vocab=3, labels=True, n_local=0, hop=2, **kw):
    params = dict(
        layers_per_block=layers,
        n_blocks=blocks,
        residual_channels=8,
        skip_channels=8,
        vocab_size=vocab,
        hop_length=hop,
        epochs=1,
        batch_size=8,
        random_state=0,
    )
    params.update(kw)
    X = _codes(vocab=vocab)
    rng = np.random.RandomState(1)
    extra = {}
    if labels:
        extra["y"] = np.arange(len(X)) % 3 + 5  # labels 5, 6, 7
    if n_local:
        extra["features"] = [rng.randn(-(-len(x) // hop), n_local) for x in X]
    return _spread(WaveNet(**params).fit(X, **extra))


def _all_sequences(vocab, length):
    return [
        np.array(s, dtype=float)[:, None] for s in itertools.product(range(vocab), repeat=length)
    ]


# -- normalised for every condition, and the condition matters ------------------------------


def test_conditional_pixelcnn_sums_to_one_for_each_label_and_depends_on_it():
    model = _pixelcnn()
    assert model.classes_.tolist() == ["a", "b", "c"]
    images = np.array(list(itertools.product(range(2), repeat=6)), dtype=float)
    per_label = []
    for label in model.classes_:
        logp = model.score_samples(images, label)
        assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-5)
        per_label.append(logp)
    assert np.abs(per_label[0] - per_label[1]).max() > 0.05
    # one label per image is the same as each label for all
    mixed = np.array(["a", "b", "c"] * 22)[: len(images)]
    got = model.score_samples(images, mixed)
    want = np.choose(np.arange(len(images)) % 3, per_label)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_conditional_wavenet_sums_to_one_for_each_label_and_depends_on_it():
    model = _wavenet(layers=1, blocks=2)  # receptive field 3 < length 4
    seqs = _all_sequences(3, 4)
    per_label = []
    for label in (5, 6, 7):
        logp = model.score_samples(seqs, y=label)
        assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-5)
        per_label.append(logp)
    assert np.abs(per_label[0] - per_label[2]).max() > 0.05


def test_locally_conditioned_wavenet_sums_to_one_for_any_features_and_depends_on_them():
    model = _wavenet(layers=1, blocks=2, n_local=2, hop=2)
    assert model.n_local_features_ == 2
    seqs = _all_sequences(3, 4)
    rng = np.random.RandomState(3)
    scores = []
    for _ in range(2):
        f = rng.randn(2, 2)  # 4 levels at hop 2: 2 frames
        logp = model.score_samples(seqs, y=6, features=[f] * len(seqs))
        assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-5)
        scores.append(logp)
    assert np.abs(scores[0] - scores[1]).max() > 0.05


# -- no leak from the future ------------------------------------------------------------------


def test_conditional_pixelcnn_still_sees_exactly_the_pixels_before():
    model = _pixelcnn((4, 4), n_layers=5, labels=(0, 1))
    net = model.module_.eval()
    cond = Condition(torch.tensor([1, 0, 1, 1]))

    class Conditioned(torch.nn.Module):
        def forward_embeddings(self, e):
            return net.forward_embeddings(e, cond)

    for p in range(16):
        seen = _depends_on(Conditioned(), (16,), p, uniform=True)
        assert seen.tolist() == [q < p for q in range(16)], p


def test_conditioned_wavenet_outputs_see_their_receptive_field_of_levels_and_features():
    """Output i depends on levels i - r < j <= i, and on the local features of positions
    i - r + 1 < j <= i only: no future features either (a position's features enter the
    gates at that position, so they reach one position less far than its input level,
    which enters as the first layer's past)."""
    model = _wavenet(layers=2, blocks=2, n_local=3)  # receptive field 7
    r = model.receptive_field_
    net = model.module_.eval()
    labels = torch.tensor([0, 2, 1, 1])
    local = torch.randn(4, 12, 3, generator=torch.Generator().manual_seed(0))

    class Conditioned(torch.nn.Module):
        def forward_embeddings(self, e):
            return net.forward_embeddings(e, Condition(labels, local))

    for i in range(12):
        seen = _depends_on(Conditioned(), (12, 8), i)
        assert seen.tolist() == [i - r < j <= i for j in range(12)]
        feats = local.clone().requires_grad_(True)
        x = torch.randn(4, 12, 8, generator=torch.Generator().manual_seed(i))
        out = net.forward_embeddings(x, Condition(labels, feats))[:, i].sum()
        (grad,) = torch.autograd.grad(out, feats)
        by_position = grad.abs().sum((0, 2)) > 0
        assert by_position.tolist() == [i - r + 1 < j <= i for j in range(12)]


# -- cached generation is the naive loop, with conditions ---------------------------------------


@pytest.mark.parametrize("settings", [{"temperature": 0}, {}, {"top_p": 0.8}])
def test_conditional_pixelcnn_row_cache_gives_the_naive_images(settings):
    model = _pixelcnn((5, 4), n_levels=3, labels=(0, 1, 2))
    y = [0, 1, 2, 2, 1]
    a = model.sample(5, y=y, random_state=4, **settings)
    b = model.sample(5, y=y, random_state=4, use_cache=False, **settings)
    np.testing.assert_array_equal(a, b)
    X = np.random.RandomState(1).randint(0, 3, size=(3, 20)).astype(float)
    c = model.inpaint(X, 2, y=[2, 0, 1], random_state=0, **settings)
    np.testing.assert_array_equal(c[:, :8], X[:, :8])
    np.testing.assert_array_equal(
        c, model.inpaint(X, 2, y=[2, 0, 1], random_state=0, use_cache=False, **settings)
    )
    if settings == {"temperature": 0}:  # greedy: the label alone sets the image
        assert not np.array_equal(
            model.sample(1, y=0, **settings), model.sample(1, y=2, **settings)
        )


@pytest.mark.parametrize("settings", [{"temperature": 0}, {}, {"top_k": 2, "temperature": 0.9}])
def test_conditional_wavenet_fast_generation_gives_the_naive_samples(settings):
    model = _wavenet(layers=3, blocks=2, vocab=5, n_local=2, hop=3)  # receptive field 15
    rng = np.random.RandomState(0)
    feats = [rng.randn(40, 2) for _ in range(3)]  # 120 levels at hop 3
    a = model.sample(3, y=[5, 7, 6], features=feats, random_state=2, **settings)
    assert a.shape == (3, 120, 1)
    b = model.sample(3, y=[5, 7, 6], features=feats, random_state=2, use_cache=False, **settings)
    np.testing.assert_array_equal(a, b)
    prefix = np.array([0, 4, 1, 3, 2, 2, 0, 1] * 3)  # past the receptive field
    f = rng.randn(-(-(len(prefix) + 30) // 3), 2)  # one feature sequence for all samples
    kw = dict(n_samples=2, y=7, features=f, random_state=5, **settings)
    np.testing.assert_array_equal(
        model.complete(prefix, 30, **kw), model.complete(prefix, 30, use_cache=False, **kw)
    )


def test_labels_only_wavenet_fast_generation_gives_the_naive_samples():
    model = _wavenet(layers=2, blocks=2, vocab=4)
    a = model.sample(4, length=60, y=6, random_state=1)
    np.testing.assert_array_equal(
        a, model.sample(4, length=60, y=6, random_state=1, use_cache=False)
    )


# -- training uses the condition -----------------------------------------------------------------


def test_training_windows_carry_each_positions_features():
    """Each training window's local features are those of its own positions: frame
    (start + k) // hop of its sequence (the phase of a window that starts mid-frame)."""
    model = _wavenet(layers=2, blocks=1, n_local=2, hop=3, chunk_length=8)
    rng = np.random.RandomState(0)
    X = _codes(n_seq=2, length=23)
    feats = [rng.randn(8, 2) for _ in X]
    data = model._dataset(X, _given(y=[5, 6], features=feats), fitting=False)
    windows, labels, frames, phase = data.tensors
    cond = model._batch_condition(data.tensors)
    assert cond.labels.tolist() == labels.tolist()
    rows, which, starts = model._window_rows([x[:, 0].astype(np.int64) for x in X])
    assert len(set(starts)) > 2 and any(st % 3 for st in starts)
    for r, (i, st) in enumerate(zip(which, starts, strict=True)):
        up = upsample(feats[i], 3, 23)[st : st + 8]
        np.testing.assert_allclose(cond.local[r, : len(up)].numpy(), up, rtol=1e-6)


def _given(**kw):
    from genmodels.autoregressive._conditioning import Given

    return Given(**kw)


def test_a_conditional_model_learns_what_the_label_means():
    rng = np.random.RandomState(0)
    y = np.arange(200) % 2
    X = np.where(
        y[:, None] == 1, rng.uniform(size=(200, 6)) < 0.9, rng.uniform(size=(200, 6)) < 0.1
    )
    model = PixelCNN(
        2,
        8,
        kernel_size=3,
        head_channels=8,
        image_shape=(2, 3),
        epochs=15,
        batch_size=20,
        lr=1e-2,
        random_state=0,
    )
    model.fit(X.astype(float), y, validation_data=(X[:20].astype(float), y[:20]))
    ones, zeros = np.ones((1, 6)), np.zeros((1, 6))
    assert model.score_samples(ones, 1)[0] > model.score_samples(ones, 0)[0] + 3
    assert model.score_samples(zeros, 0)[0] > model.score_samples(zeros, 1)[0] + 3
    assert model.sample(50, y=1, random_state=0).mean() > 0.7
    assert model.sample(50, y=0, random_state=0).mean() < 0.3
    assert "val_loss" in model.history_


# -- files and errors ------------------------------------------------------------------------------


def test_save_load_keeps_the_labels_and_the_scores(tmp_path):
    model = _pixelcnn()
    path = tmp_path / "cpcnn.safetensors"
    model.save(path)
    again = genmodels.load(path)
    assert again.classes_.tolist() == ["a", "b", "c"]
    X = np.random.RandomState(2).randint(0, 2, size=(10, 6)).astype(float)
    np.testing.assert_array_equal(again.score_samples(X, "b"), model.score_samples(X, "b"))
    np.testing.assert_array_equal(
        again.sample(4, y="c", random_state=1), model.sample(4, y="c", random_state=1)
    )
    wave = _wavenet(n_local=2)
    wave.sample_rate_ = 8000
    path = tmp_path / "wave.safetensors"
    wave.save(path)
    back = genmodels.load(path)
    assert back.classes_.tolist() == [5, 6, 7] and back.n_local_features_ == 2
    assert back.sample_rate_ == 8000
    f = [np.random.RandomState(0).randn(10, 2)] * 2
    X = _codes(n_seq=2)
    np.testing.assert_array_equal(
        back.score_samples(X, y=[5, 7], features=f), wave.score_samples(X, y=[5, 7], features=f)
    )


def test_bad_labels_and_features_get_clear_errors():
    model = _pixelcnn()
    X = np.zeros((2, 6))
    with pytest.raises(ValueError, match="pass y"):
        model.score_samples(X)
    with pytest.raises(ValueError, match="pass y"):
        model.sample(2)
    with pytest.raises(ValueError, match="unknown class label 'z'"):
        model.sample(2, y="z")
    with pytest.raises(ValueError, match="one per image"):
        model.score_samples(X, ["a", "b", "c"])
    with pytest.raises(ValueError, match="pass y"):
        model.inpaint(X, 1)
    with pytest.raises(ValueError, match="one class label per image"):
        PixelCNN(epochs=1, image_shape=(2, 3)).fit(np.zeros((4, 6)), [0, 1])
    plain = PixelCNN(1, 4, kernel_size=3, head_channels=4, image_shape=(2, 3), epochs=1).fit(X)
    assert plain.classes_ is None
    with pytest.raises(ValueError, match="fitted without class labels"):
        plain.sample(1, y="a")
    with pytest.raises(ValueError, match="not conditioned on class labels"):
        Transformer(1, 2, 8, block_size=4, epochs=1).fit("abab", y=[0])
    wave = _wavenet(n_local=2, hop=2)
    seqs = _codes(n_seq=2, length=6)
    with pytest.raises(ValueError, match="pass features"):
        wave.score_samples(seqs, y=5)
    with pytest.raises(ValueError, match=r"ceil\(6 / 2\) = 3"):
        wave.score_samples(seqs, y=5, features=[np.zeros((2, 2))] * 2)
    with pytest.raises(ValueError, match="fitted with 2"):
        wave.score_samples(seqs, y=5, features=[np.zeros((3, 1))] * 2)
    with pytest.raises(ValueError, match="unknown class label 4"):
        wave.sample(1, y=4, features=np.zeros((3, 2)))
    labels_only = _wavenet()
    with pytest.raises(ValueError, match="fitted without local features"):
        labels_only.sample(1, y=5, features=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="sample_rate"):
        WaveNet(1, 1, 4, 4, vocab_size=3, epochs=1).fit(seqs, sample_rate=0)
    with pytest.raises(ValueError, match="validation_data"):
        labels_only.fit(seqs, y=[5, 6], validation_data={"x": seqs})
