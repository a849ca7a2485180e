"""The book's first MNIST classifier (step 51), written against dz.

An MLP with 1000 sigmoid hidden units, plain SGD at the book's default
learning rate (0.01), batches of 100, 5 epochs: the book reports a test
accuracy of about 0.86. The loop is the book's.

The four MNIST files are read from ``--data-dir``, else ``$DZ_DATA_DIR``,
else ``~/.dz/datasets/mnist`` (downloaded there when missing).
Run it with ``python examples/mnist_sigmoid_sgd.py --data-dir FOLDER``.
"""

import argparse

import numpy as np

import dzcore
import dzcore.functions as F
from dzcore import datasets, optimizers
from dzcore.dataloaders import DataLoader
from dzcore.models import MLP

MAX_EPOCH = 5
BATCH_SIZE = 100
HIDDEN_SIZE = 1000


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


def main(epochs=MAX_EPOCH, data_dir=None, seed=0, quiet=False):
    """Train and evaluate; return the final losses and accuracies."""
    np.random.seed(seed)
    train_set = datasets.MNIST(train=True, root=data_dir)
    test_set = datasets.MNIST(train=False, root=data_dir)
    train_loader = DataLoader(train_set, BATCH_SIZE, seed=seed)
    test_loader = DataLoader(test_set, BATCH_SIZE, shuffle=False)

    model = MLP((HIDDEN_SIZE, 10))
    optimizer = optimizers.SGD().setup(model)

    for epoch in range(epochs):
        train_loss, train_acc = run_epoch(model, train_loader, optimizer)
        with dzcore.no_grad():
            test_loss, test_acc = run_epoch(model, test_loader)
        if not quiet:
            print(
                f"epoch {epoch + 1}: train loss {train_loss:.4f}, accuracy "
                f"{train_acc:.4f}; test loss {test_loss:.4f}, accuracy {test_acc:.4f}",
                flush=True,
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
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = main(args.epochs, args.data_dir, args.seed)
    print(
        f"final: train accuracy {result['train_accuracy']:.4f}, "
        f"test accuracy {result['test_accuracy']:.4f}"
    )
