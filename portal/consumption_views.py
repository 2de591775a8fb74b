"""Monthly consumption per point of delivery against the same months a year earlier."""
