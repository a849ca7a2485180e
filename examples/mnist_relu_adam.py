"""The book's better MNIST classifier (step 51), trained with dz's Trainer.

Two hidden layers of 1000 ReLU units, Adam at its default learning rate,
batches of 100, 5 epochs: about 0.98 test accuracy on the official 10,000
test images. Where the other examples spell out the book's loop, this one
hands it to :class:`dzcore.trainer.Trainer` (same loop, plus history,
callbacks and checkpoints: pass ``--checkpoint PATH`` to save after every
epoch and resume an interrupted run).

The four MNIST files are read from ``--data-dir``, else ``$DZ_DATA_DIR``,
else ``~/.dz/datasets/mnist`` (downloaded there when missing).
Run it with ``python examples/mnist_relu_adam.py --data-dir FOLDER``.
"""

import argparse
import os

import numpy as np

import dzcore.functions as F
from dzcore import datasets, optimizers
from dzcore.dataloaders import DataLoader
from dzcore.models import MLP
from dzcore.trainer import Trainer

MAX_EPOCH = 5
BATCH_SIZE = 100
HIDDEN_SIZE = 1000


def print_epoch(trainer, epoch, logs):
    """A Trainer callback: one line per epoch, as the book prints."""
    print(
        f"epoch {epoch}: train loss {logs['loss']:.4f}, accuracy "
        f"{logs['accuracy']:.4f}; test loss {logs['val_loss']:.4f}, accuracy "
        f"{logs['val_accuracy']:.4f}",
        flush=True,
    )


def main(epochs=MAX_EPOCH, data_dir=None, seed=0, quiet=False, checkpoint=None):
    """Train and evaluate; return the final losses and accuracies."""
    np.random.seed(seed)
    train_set = datasets.MNIST(train=True, root=data_dir)
    test_set = datasets.MNIST(train=False, root=data_dir)
    train_loader = DataLoader(train_set, BATCH_SIZE, seed=seed)
    test_loader = DataLoader(test_set, BATCH_SIZE, shuffle=False)

    model = MLP((HIDDEN_SIZE, HIDDEN_SIZE, 10), activation=F.relu)
    optimizer = optimizers.Adam().setup(model)
    trainer = Trainer(model, optimizer, callbacks=[] if quiet else [print_epoch])
    if checkpoint and os.path.exists(checkpoint):
        trainer.resume(checkpoint, train_loader, test_loader)

    history = trainer.fit(train_loader, epochs, test_loader, checkpoint=checkpoint)
    return {
        "train_loss": history["loss"][-1],
        "train_accuracy": history["accuracy"][-1],
        "test_loss": history["val_loss"][-1],
        "test_accuracy": history["val_accuracy"][-1],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=MAX_EPOCH)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args()
    result = main(args.epochs, args.data_dir, args.seed, checkpoint=args.checkpoint)
    print(
        f"final: train accuracy {result['train_accuracy']:.4f}, "
        f"test accuracy {result['test_accuracy']:.4f}"
    )
