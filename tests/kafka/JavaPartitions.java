// For each key of the file args[0] (one hex-encoded key per line) prints "key=HEX" and
// the partition Kafka's Java producer gives it for each partition count args[1..]: the
// producer's own function for keyed records, BuiltInPartitioner.partitionForKey. Run by
// key_partitioner_java_test with the broker's jars (kafka-clients) on the classpath, as
// a single-file program.
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

public class JavaPartitions {
  public static void main(String[] args) throws Exception {
    for (String hex : Files.readAllLines(Path.of(args[0]))) {
      byte[] key = HexFormat.of().parseHex(hex);
      StringBuilder line = new StringBuilder("key=").append(hex);
      for (int i = 1; i < args.length; i++) {
        line.append(' ').append(BuiltInPartitioner.partitionForKey(key, Integer.parseInt(args[i])));
      }
      System.out.println(line);
    }
  }
}
