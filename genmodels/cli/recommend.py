"""``genmodels recommend MODEL_FILE --user ID -n 10``: the top items a saved recommender
(:class:`~genmodels.MultVAE`, :class:`~genmodels.CategoricalRBM`: any
:class:`~genmodels.recommend.Recommender`) gives one user, from that user's ratings in a
ratings file, printed with the items' titles; ``genmodels recommend --write-matrix FILE``:
the users x items matrix of a ratings file, for ``genmodels fit``.

Ratings files: ``--ratings FILE``, MovieLens's ``u.data`` layout (user, item, rating and
anything after, whitespace- or tab-separated, no header) or a ``.csv`` with a header row
(columns ``user``, ``item``, ``rating`` by those names, else the first three); or
``--movielens``, MovieLens 100K's ``u.data`` and ``u.item`` from the datasets folder
(:mod:`genmodels.datasets`; never shipped). User and item ids are whole numbers from 1, as
in MovieLens: item ``i`` is column ``i - 1`` of the model's rows. Titles: ``--items FILE``
in ``u.item``'s layout (``id|title|...``, latin-1).

How a user's ratings become the model's row (``Recommender.user_row_kind``): ``clicks``
(MultVAE) 1 where the rating is at least ``--min-rating`` (default 4, Liang et al.'s
clicks), else 0; ``rating_codes`` (CategoricalRBM) the rating - 1, NaN where unrated.
Every item the user rated (at any rating) is left out of the list unless ``--include-seen``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from .common import CommandError, add_verb, load_model, print_table

MOVIELENS_SHAPE = (943, 1682)


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "recommend",
        "recommend items to a user with a saved recommender (MultVAE, CategoricalRBM)",
        run,
        "genmodels recommend multvae.safetensors --movielens --user 42 -n 10\n"
        "  genmodels recommend --movielens --write-matrix clicks.npz   # then: genmodels fit "
        "multvae clicks.npz",
    )
    p.add_argument("model_file", metavar="MODEL_FILE", nargs="?")
    p.add_argument("--user", type=int, help="the user's id in the ratings file (from 1)")
    p.add_argument("-n", type=int, default=10, help="how many items (default 10)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--ratings",
        metavar="FILE",
        help="user, item, rating rows: u.data's layout (whitespace-separated, no header) or "
        "a .csv with a header row",
    )
    src.add_argument(
        "--movielens",
        action="store_true",
        help="MovieLens 100K's u.data and u.item from $GENMODELS_DATASETS",
    )
    p.add_argument(
        "--items", metavar="FILE", help="item titles, u.item's layout (id|title|..., latin-1)"
    )
    p.add_argument(
        "--min-rating",
        type=float,
        default=4.0,
        help="for click models (multvae): a rating at least this is a click (default 4)",
    )
    p.add_argument(
        "--include-seen", action="store_true", help="also rank the items the user has rated"
    )
    p.add_argument(
        "--write-matrix",
        metavar="FILE",
        help="instead of recommending: write every user's row (users x items) to FILE, for "
        "`genmodels fit` (.npz: compressed, array X; or .npy)",
    )
    p.add_argument(
        "--kind",
        choices=("clicks", "rating_codes"),
        default="clicks",
        help="with --write-matrix: clicks (for multvae) or rating_codes (rating - 1, NaN "
        "unrated: for categorical-rbm); default clicks",
    )


def run(args: argparse.Namespace) -> int:
    """Recommend to ``--user``, or write the matrix ``--write-matrix`` names."""
    from ..recommend import Recommender, rank_items, user_item_matrix

    if args.write_matrix is not None:
        return _write_matrix(args)
    if args.model_file is None:
        raise CommandError("give MODEL_FILE (or --write-matrix FILE to make a training matrix)")
    if args.user is None:
        raise CommandError("--user ID is required: the user to recommend to")
    ratings, titles = _sources(args)
    model = load_model(args.model_file)
    if not isinstance(model, Recommender):
        raise CommandError(
            f"{args.model_file}: a {type(model).__name__}, which does not recommend; use a "
            "model of clicks (multvae) or ratings (categorical-rbm)"
        )
    n_items = int(model.n_features_in_)
    mine = ratings[ratings[:, 0] == args.user]
    if len(mine) == 0:
        raise CommandError(f"user {args.user} has no ratings in {_source_name(args)}")
    if mine[:, 1].max() > n_items:
        raise CommandError(
            f"user {args.user} rated item {int(mine[:, 1].max())}, but the model knows items "
            f"1..{n_items} only"
        )
    triples = np.column_stack([np.zeros(len(mine)), mine[:, 1] - 1, mine[:, 2]])
    row = user_item_matrix(triples, (1, n_items), model.user_row_kind, min_rating=args.min_rating)
    scores = model.recommendation_scores(row)[0]  # (n_items,)
    # every item the user rated is seen here, whatever its rating (also for click models)
    rated = np.zeros(n_items, dtype=bool)
    rated[mine[:, 1].astype(np.int64) - 1] = True
    seen = None if args.include_seen else rated[None, :]
    items = rank_items(scores[None, :], args.n, seen)[0]
    print(
        f"user {args.user}: {len(mine)} ratings; {type(model).__name__} {args.model_file}, "
        f"{n_items} items" + ("" if args.include_seen else ", the rated ones left out")
    )
    print(f"score: {model.recommendation_score}")
    rows = []
    for rank, i in enumerate(items, 1):
        mark = " (rated)" if rated[i] else ""
        rows.append((str(rank), str(i + 1), f"{scores[i]:.4g}", titles.get(i + 1, "") + mark))
    print_table(("rank", "item", "score", "title"), rows)
    return 0


def _source_name(args) -> str:
    return "MovieLens 100K (u.data)" if args.movielens else str(args.ratings)


def _sources(args) -> tuple[np.ndarray, dict[int, str]]:
    """The (user, item, rating) rows with 1-based ids, and the titles by item id."""
    if args.movielens:
        from ..datasets import movielens_items, movielens_ratings

        ratings = movielens_ratings().astype(np.float64)
        ratings[:, :2] += 1
        titles = dict(enumerate(movielens_items(), 1))
    else:
        ratings, titles = read_ratings(Path(args.ratings)), {}
    if args.items is not None:
        titles = read_titles(Path(args.items))
    return ratings, titles


def _write_matrix(args) -> int:
    from ..recommend import user_item_matrix

    out = Path(args.write_matrix)
    if out.suffix.lower() not in (".npz", ".npy"):
        raise CommandError(f"--write-matrix {out}: use .npz (compressed) or .npy")
    ratings, titles = _sources(args)
    if args.movielens:
        shape = MOVIELENS_SHAPE
    else:
        shape = (int(ratings[:, 0].max()), int(max(ratings[:, 1].max(), max(titles, default=0))))
    triples = np.column_stack([ratings[:, 0] - 1, ratings[:, 1] - 1, ratings[:, 2]])
    X = user_item_matrix(triples, shape, args.kind, min_rating=args.min_rating)
    if out.suffix.lower() == ".npz":
        np.savez_compressed(out, X=X)
    else:
        np.save(out, X, allow_pickle=False)
    if args.kind == "clicks":
        filled, fit = f"{int((X > 0).sum()):,} clicks", f"multvae {out}"
    else:
        top = int(np.nanmax(X)) + 1 if np.isfinite(X).any() else 2
        filled = f"{int(np.isfinite(X).sum()):,} ratings"
        fit = f"categorical-rbm {out} --set n_categories={max(top, 2)}"
    print(f"{out}: {shape[0]} users x {shape[1]} items, {filled}; fit with `genmodels fit {fit}`")
    return 0


def read_ratings(path: Path) -> np.ndarray:
    """(n, 3) float64 (user, item, rating) rows of a ratings file (see the module
    docstring), ids checked to be whole numbers from 1."""
    if not path.is_file():
        raise FileNotFoundError(f"no ratings file at {path}")
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            lines = list(csv.reader(fh))
        if not lines:
            raise ValueError(f"{path}: empty")
        header = [c.strip().lower() for c in lines[0]]
        want = ("user", "item", "rating")
        cols = [header.index(c) for c in want] if set(want) <= set(header) else [0, 1, 2]
        try:
            rows = np.array([[float(r[c]) for c in cols] for r in lines[1:] if r], dtype=float)
        except (ValueError, IndexError):
            raise ValueError(
                f"{path}: every row needs numbers in the user, item and rating columns"
            ) from None
    else:
        try:
            rows = np.loadtxt(path, usecols=(0, 1, 2), ndmin=2, dtype=np.float64)
        except ValueError as exc:
            raise ValueError(
                f"{path}: expected rows of user, item, rating (u.data's layout): {exc}"
            ) from None
    if rows.size == 0:
        raise ValueError(f"{path}: no ratings")
    rows = rows.reshape(-1, 3)
    if not np.isfinite(rows).all():
        raise ValueError(f"{path}: ratings must be finite numbers")
    ids = rows[:, :2]
    if ids.min() < 1 or (ids != np.round(ids)).any():
        raise ValueError(f"{path}: user and item ids must be whole numbers from 1")
    return rows


def read_titles(path: Path) -> dict[int, str]:
    """Item titles by id from a ``u.item``-style file (``id|title|...``, latin-1)."""
    if not path.is_file():
        raise FileNotFoundError(f"no item file at {path}")
    titles = {}
    with open(path, encoding="latin-1") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            cells = line.rstrip("\r\n").split("|")
            if len(cells) < 2 or not cells[0].strip().isdigit():
                raise ValueError(f"{path}, line {n}: expected 'id|title|...'")
            titles[int(cells[0])] = cells[1]
    return titles
