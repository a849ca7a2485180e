"""The book's Spiral classifier (step 48), written against dz.

A two-layer MLP with 10 sigmoid hidden units learns the three arms of the
spiral dataset with plain SGD (lr 1.0) in batches of 30 for 300 epochs.
The loop is the book's, line for line; ``dz train`` runs the same setup
through :class:`dzcore.trainer.Trainer`.

Run it with ``python examples/spiral.py`` (add ``--epochs N`` for a
shorter run).
"""

import argparse

import numpy as np

import dzcore
import dzcore.functions as F
from dzcore import datasets, optimizers
from dzcore.dataloaders import DataLoader
from dzcore.models import MLP

MAX_EPOCH = 300
BATCH_SIZE = 30
HIDDEN_SIZE = 10
LR = 1.0


def run_epoch(model, loader, optimizer=None):
    """Return the mean loss and accuracy over one pass; update when training."""
    sum_loss, sum_acc, count = 0.0, 0.0, 0
    for x, t in loader:
        y = model(x)
        loss = F.softmax_cross_entropy(y, t)
        acc = F.accuracy(y, t)
        if optimizer is not None:
            model.cleargrads()
            loss.backward()
            optimizer.update()
        sum_loss += float(loss.data) * len(t)
        sum_acc += float(acc.data) * len(t)
        count += len(t)
    return sum_loss / count, sum_acc / count


def main(epochs=MAX_EPOCH, seed=0, quiet=False):
    """Train and evaluate; return the final losses and accuracies."""
    np.random.seed(seed)
    train_set = datasets.Spiral(train=True)
    test_set = datasets.Spiral(train=False)
    train_loader = DataLoader(train_set, BATCH_SIZE, seed=seed)
    test_loader = DataLoader(test_set, BATCH_SIZE, shuffle=False)

    model = MLP((HIDDEN_SIZE, 3))
    optimizer = optimizers.SGD(lr=LR).setup(model)

    for epoch in range(epochs):
        train_loss, train_acc = run_epoch(model, train_loader, optimizer)
        with dzcore.no_grad():
            test_loss, test_acc = run_epoch(model, test_loader)
        if not quiet:
            print(
                f"epoch {epoch + 1}: train loss {train_loss:.4f}, accuracy "
                f"{train_acc:.4f}; test loss {test_loss:.4f}, accuracy {test_acc:.4f}"
            )
    return {
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=MAX_EPOCH)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = main(args.epochs, args.seed)
    print(
        f"final: train accuracy {result['train_accuracy']:.4f}, "
        f"test accuracy {result['test_accuracy']:.4f}"
    )
