"""The ``genmodels`` command's entry point: the parser built from the list of verbs, and
the one place where the errors a user can cause become one line on stderr.

Every verb is a module of this package with ``add_parser(sub)`` (its sub-parser, whose
``handler`` default is the verb's ``run(args) -> int``); :data:`VERBS` lists them in the
order ``--help`` shows. Adding a verb is one new module and one line there. :func:`main`
parses the command line, runs the handler, and turns the errors a user can cause (bad
data, bad hyper-parameters, a file that is not a model) into one line
``genmodels: error: <message>`` on stderr with a non-zero exit code. Set
``GENMODELS_DEBUG=1`` to get the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from .._version import __version__
from ..config import config_context
from . import (
    anomalies,
    complete,
    compose,
    decode,
    demo,
    evaluate,
    fit,
    info,
    interpolate,
    models,
    molecules,
    predict,
    recommend,
    sample,
    score,
    synth,
    upscale,
)
from .common import PROG, CommandError, error, exit_code, one_line, show_warning

#: The verbs, in the order ``genmodels --help`` lists them.
VERBS = (
    fit,
    sample,
    score,
    evaluate,
    predict,
    decode,
    complete,
    interpolate,
    upscale,
    compose,
    anomalies,
    synth,
    recommend,
    molecules,
    info,
    demo,
    models,
)


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a user can cause; reported as one line (``GENMODELS_DEBUG=1``: traceback).
    Imported when an error is being handled, so that ``--help`` loads no scikit-learn."""
    from ..exceptions import ModelFileError, NotFittedError

    return (
        ValueError,
        TypeError,
        OSError,  # FileNotFoundError, PermissionError, IsADirectoryError ...
        ModelFileError,
        NotFittedError,
        CommandError,
    )


EXAMPLES = """\
Examples:
  genmodels models
      list the models, their aliases and capabilities
  genmodels fit gmm data.csv --set n_components=3 -o gmm.safetensors
      fit a 3-component Gaussian mixture to a CSV file with a header row
  genmodels fit gmm builtin:digits --set n_components=10 --set covariance_type=diag
      fit on scikit-learn's digits (also builtin:iris, builtin:wine)
  genmodels sample gmm.safetensors -n 100 -o samples.csv --seed 0
      draw 100 samples (.csv, .npy, or .png for image data such as the digits)
  genmodels score gmm.safetensors data.csv -o scores.csv
      per-sample log-likelihoods in nats, with a summary
  genmodels evaluate gan.safetensors --metrics fid,kid,pr,coverage --reference mnist-test
      sample-quality metrics of a model of 28x28 images against MNIST's test set
  genmodels predict gmm.safetensors data.csv -o components.csv
      most probable component (classes, for classifiers) and the probabilities
  genmodels fit rbm binary.csv --set n_components=64 -o rbm.safetensors
      fit a restricted Boltzmann machine to 0/1 data (log-likelihood exact or by AIS)
  genmodels predict rbm.safetensors binary.csv -o hidden.csv
      Boltzmann machines: the hidden units' probabilities p(h_j = 1 | x), columns p_h0 ...
  genmodels fit multinomial-nb train.csv --target label -o nb.safetensors
      fit a classifier on the other columns, with labels from column 'label'
  genmodels sample nb.safetensors -n 5 --class spam -o spam.csv
      draw from one class of a classifier that is also a generative model
  genmodels fit gaussian-hmm seqs.npz --set n_components=3 -o hmm.safetensors
      fit a hidden Markov model to sequences: an .npz with arrays X (frames) and lengths
  genmodels fit ghmm ticks.csv --sequence-column day --set n_components=3 -o hmm.safetensors
      sequences from a CSV: consecutive rows with the same 'day' form one sequence
  genmodels decode hmm.safetensors ticks.csv -o states.csv
      the most probable hidden state of every frame (Viterbi) and its posterior probability
  genmodels sample hmm.safetensors -n 5 --length 200 -o seqs.npz
      draw 5 sequences of 200 frames (.npz with X and lengths, .csv, or (n, T, D) .npy)
  genmodels fit wavenet recordings/ --labels-from-name -o digits.safetensors
      a WaveNet on a folder of mono .wav files (mu-law levels), conditioned on the label
      before each name's first '_' (7_jackson_0.wav); class subfolders label files too
  genmodels sample digits.safetensors --class 7 -n 1 --length 4000 -o seven.wav
      a recording of class 7 at the files' sample rate (-n 3: seven_0.wav .. seven_2.wav)
  genmodels fit pixelcnn faces/ --set n_levels=256 -o faces.safetensors
      fit on a folder of .png images (class subfolders label them); sample -o grid.png
      draws the samples in colour
  genmodels fit vae digits01.npy --set latent_dim=16 --set epochs=50 --checkpoint-dir ckpt/
      fit a variational autoencoder to 0/1 images, checkpointing every epoch into ckpt/
  genmodels fit vae digits01.npy --set latent_dim=16 --set epochs=80 --checkpoint-dir ckpt/ --resume
      continue that run from its checkpoint up to epoch 80
  genmodels score vae.safetensors test01.npy --importance 1000
      VAEs: importance-weighted (IWAE) estimates of log p(x) with 1000 samples per row
  genmodels predict vae.safetensors digits01.npy -o codes.csv
      VAEs: the latent code (posterior mean) of every row, columns z0, z1, ...
  genmodels interpolate vae.safetensors digits01.npy --rows 0 7 -o strip.png
      decode the path between the codes of rows 0 and 7 (an image strip, or .csv/.npy)
  genmodels fit rnn-nade jsb-chorales-quarter.json:train --set epochs=40 -o chorales.safetensors
      RNN-NADE on piano rolls from a JSON file of pieces (pitch lists per step; x.json:KEY)
  genmodels compose chorales.safetensors -o chorale.mid --steps 64 --seed 3
      a chorale drawn from a music model (rnn-nade, satb; examples/jsb_chorales.py) as MIDI
  genmodels anomalies data.csv --model gmm --contamination 0.05 -o flagged.csv
      flag the 5% least likely rows under a Gaussian mixture fitted to them (scores in nats)
  genmodels synth adult.csv -n 10000 -o synthetic.csv --missing '?' --seed 0
      synthetic rows like a CSV table's (numbers, integers, categories, booleans, dates,
      missing cells), with its columns, order and types (--model gmm|vae, --column NAME=TYPE)
  genmodels recommend multvae.safetensors --movielens --user 42 -n 10
      the 10 movies a recommender (multvae, categorical-rbm) ranks first for MovieLens
      user 42, with titles (--ratings u.data-style file, --items u.item for other data)
  genmodels fit gpt mols.smi --set end_token=true --set block_size=64 -o smiles_gpt.safetensors
      a SMILES language model: a .smi file is one molecule a line, each its own sequence
  genmodels molecules smiles_gpt.safetensors -n 1000 -o mols.smi --train mols.smi --report rep/
      sample molecules (canonical SMILES) and print the MOSES metrics (genmodels[chem])
  genmodels info gmm.safetensors
      what a model file holds: class, hyper-parameters, fitted attributes
  genmodels demo --quick --output demo-report
      fit every family on built-in data and write an HTML report

Data: CSV with a header row (empty cells and NA are missing values), .npy, .npz
(array 'X'), or builtin:digits / builtin:iris / builtin:wine.
Sequences (HMMs): .npz with X (frames x features) and lengths (frames per sequence), or
X of shape (sequences, frames, features); a 3-D .npy; or a CSV with a sequence-id column
(--sequence-column; the rows of one sequence consecutive, in time order).
Set GENMODELS_DEBUG=1 to see a full traceback on errors.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``genmodels`` command with ``argv`` (default ``sys.argv[1:]``); return the
    exit code (0 on success)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return exit_code(exc.code)
    debug = os.environ.get("GENMODELS_DEBUG", "") not in ("", "0")
    with warnings.catch_warnings():
        if not debug:
            warnings.showwarning = show_warning
        try:
            with config_context(n_jobs=getattr(args, "n_jobs", None)):
                return args.handler(args)
        except BrokenPipeError:  # `genmodels info m | head`: the reader has gone; no error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 141
        except KeyboardInterrupt:
            if debug:
                raise
            error("interrupted")
            return 130
        except user_errors() as exc:
            if debug:
                raise
            error(one_line(exc))
            return 1
        except ImportError as exc:  # an optional extra not installed: its message says which
            if debug or "pip install" not in str(exc):
                raise
            error(one_line(exc))
            return 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every verb (also used to render ``--help``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fit, sample, score, decode, interpolate and inspect generative models.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for verb in VERBS:
        verb.add_parser(sub)
    return parser
