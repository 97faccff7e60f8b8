// The house style: 2 spaces, no semicolons, single quotes, long lines. 220 columns is the width
// at which formatting the tree changed the fewest existing lines (761 of them, against 799 at 180
// and 785 at 240).
export default {
  semi: false,
  singleQuote: true,
  printWidth: 220,
}
