"""PyTorch's quickstart tutorial, written for `import eager as torch`, on scikit-learn's digits.

The code below is the tutorial's, line for line where the two can match: a Dataset subclass
in place of torchvision's FashionMNIST (digits come from framework.datasets, no download),
shuffled training batches, a bigger learning rate and momentum so that a few epochs reach high
accuracy, logs kept in a list instead of printed, and nothing else changed. It must run
unmodified on eager and reach at least 95% test accuracy.

The quickstart's device selection and its weights-only load have their own tests below, so a
failure there names the idiom rather than the training run.
"""

from __future__ import annotations

import eager as torch
from eager import nn
from eager.utils.data import DataLoader, Dataset
from framework.datasets import load_digits

classes = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


class DigitsDataset(Dataset):
    """The tutorial's custom-dataset pattern: __init__, __len__ and __getitem__."""

    def __init__(self, train: bool = True, transform=None, target_transform=None):
        self.images, self.labels = load_digits(split="train" if train else "test")
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        image = torch.from_numpy(self.images[idx])  # (1, 8, 8) float32 in [0, 1], like ToTensor
        label = int(self.labels[idx])
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def train(dataloader, model, loss_fn, optimizer, device, log):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        # Compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 10 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            log.append(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn, device, log):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    log.append(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct, test_loss


test.__test__ = False  # the tutorial's name for the evaluation loop, not a pytest test

def test_quickstart_trains_saves_and_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the tutorial saves "model.pth" in the working directory
    torch.manual_seed(0)
    log = []

    training_data = DigitsDataset(train=True)
    test_data = DigitsDataset(train=False)

    batch_size = 64
    train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)

    for X, y in test_dataloader:
        log.append(f"Shape of X [N, C, H, W]: {X.shape}")
        log.append(f"Shape of y: {y.shape} {y.dtype}")
        break
    assert tuple(X.shape) == (64, 1, 8, 8) and tuple(y.shape) == (64,)
    assert y.dtype == torch.int64 and X.dtype == torch.float32

    device = "cpu"  # the tutorial's torch.accelerator line: see test_device_selection
    model = NeuralNetwork().to(device)

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    epochs = 10
    for t in range(epochs):
        log.append(f"Epoch {t+1}\n-------------------------------")
        train(train_dataloader, model, loss_fn, optimizer, device, log)
        accuracy, test_loss = test(test_dataloader, model, loss_fn, device, log)
    assert accuracy >= 0.95, "\n".join(log)
    assert log[-1].startswith("Test Error: \n Accuracy: ")

    torch.save(model.state_dict(), "model.pth")
    assert (tmp_path / "model.pth").is_file()

    model = NeuralNetwork().to(device)
    model.load_state_dict(torch.load("model.pth"))  # see test_load_weights_only
    assert test(test_dataloader, model, loss_fn, device, log) == (accuracy, test_loss)

    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
    assert actual == classes[int(load_digits(split="test")[1][0])]
    assert predicted in classes


def test_device_selection():
    device = (torch.accelerator.current_accelerator().type if torch.accelerator.is_available()
              else "cpu")
    assert device == "cpu"
    assert ("cuda" if torch.cuda.is_available() else "cpu") == "cpu"


def test_load_weights_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = NeuralNetwork()
    torch.save(model.state_dict(), "model.pth")
    loaded = NeuralNetwork()
    loaded.load_state_dict(torch.load("model.pth", weights_only=True))
    assert loaded.linear_relu_stack[0].weight.tolist() == \
        model.linear_relu_stack[0].weight.tolist()
