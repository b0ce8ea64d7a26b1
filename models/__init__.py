"""Text models: the sentence encoder, distress and concern classifiers, the window scorer."""
