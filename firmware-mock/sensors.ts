// What the two devices measure, shaped like the published data: the Step Trainer's distance to the
// object (201 to 300) and the phone's accelerometer axes (-1, 0 or 1).
export function stepTrainerReading (at: number, random: () => number): Record<string, unknown> {
  return { sensorReadingTime: at, distanceFromObject: 201 + Math.floor(random() * 100) }
}

export function phoneReading (at: number, random: () => number): Record<string, unknown> {
  const axis = (): number => Math.floor(random() * 3) - 1
  return { timestamp: at, x: axis(), y: axis(), z: axis() }
}
